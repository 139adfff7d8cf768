"""Big downloads reach the user's browser whole (issue 21).

A result above the 512 KiB chunk used to arrive as one broken file per chunk, and Download all
of a real session as 27-30 broken "zip" files. Here, in Voila (where the kernel's disk is not
the user's), a session of 30 results, among them a 1.5 MB and a 20 MB picture, is reopened in
the Studio; the history's Download saves each big one, Download all the whole session, and
the SHA-256 of every saved file equals the session's own file.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from labpage import wait_until

from clipdrop_widgets import read_record
from clipdrop_widgets.api.records import strip_record
from clipdrop_widgets.api.session import LOG_NAME, Session

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 120.0


def session_cells(session_dir: Path) -> list[str]:
    """A session of 28 small results, then a 20 MB and a 1.5 MB PNG (noise: PNG cannot
    shrink it), so the history's first card is the 1.5 MB one and its second the 20 MB one."""
    return [f"""\
import numpy as np, io, time
from PIL import Image
from clipdrop_widgets import Studio
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.api.session import Session

def noise_png(side, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()

session = Session({str(session_dir)!r})
start = time.time() - 3600
for i in range(28):
    session.add(Result(noise_png(96, i), "image/png", "text_to_image",
                       {{"prompt": f"picture {{i}}"}}, created=start + i))
session.add(Result(noise_png(2600, 100), "image/png", "cleanup", {{}}, created=start + 100))
session.add(Result(noise_png(707, 101), "image/png", "cleanup", {{}}, created=start + 101))
studio = Studio(session_dir={str(session_dir)!r})
studio.add_class("cdw-test-studio")
studio
"""]


def saved(page, button) -> bytes:
    with page.expect_download(timeout=WAIT * 1000) as info:
        button.click()
    return Path(info.value.path()).read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_big_results_and_a_30_result_session_download_whole_in_voila(voila, page, tmp_path):
    session_dir = tmp_path / "big-session"
    server = voila("big-downloads", session_cells(session_dir))
    downloads: list[str] = []
    page.on("download", lambda d: downloads.append(d.suggested_filename))
    page.goto(server.url(), timeout=WAIT * 1000)
    studio = page.locator(".cdw-test-studio")
    studio.wait_for(timeout=WAIT * 1000)
    results = Session(session_dir).results()  # oldest first
    assert len(results) == 30
    big, small = results[-2].data, results[-1].data
    assert len(big) > 20_000_000 and 1_400_000 < len(small) < 1_600_000

    cards = studio.locator(".cdw-history-download")
    wait_until(lambda: cards.count() >= 2 or None, timeout=WAIT, what="the history's cards")
    # each file arrives whole: the result as received, with its record inside (issue 24)
    for card, result in ((cards.nth(0), small), (cards.nth(1), big)):
        got = saved(page, card)
        assert sha(strip_record(got)) == sha(result)
        assert read_record(got)["operation"] == "cleanup"

    data = saved(page, studio.locator(".cdw-download-all").first)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        root = session_dir.name
        log = [json.loads(line) for line in zf.read(f"{root}/{LOG_NAME}").splitlines()]
        assert len(log) == 30
        for record in log:
            zipped = zf.read(f"{root}/{record['file']}")
            assert sha(zipped) == sha((session_dir / record["file"]).read_bytes())
            assert sha(strip_record(zipped)) == record["sha256"]
    # one file per press, none made of a stray chunk
    page.wait_for_timeout(1000)
    assert len(downloads) == 3, downloads
    assert not page.console_errors
