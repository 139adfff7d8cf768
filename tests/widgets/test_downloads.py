"""Downloads without a browser: what the kernel sends is the file, in pieces under 1 MiB.

The browser half (``download.js``: joining the pieces and saving them) is tested in Chromium
in ``tests/browser/test_browser_sessions.py``.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pytest
from PIL import Image

from clipdrop_widgets import Client, read_record
from clipdrop_widgets.api.records import strip_record
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.widgets import CompareSlider, HistoryStrip
from clipdrop_widgets.widgets.download import CHUNK_BYTES, Downloader

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


def capture(downloader: Downloader, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Files as the page would join them: name -> bytes."""
    parts: dict[int, dict[str, Any]] = {}
    files: dict[str, bytes] = {}

    def send(content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        assert buffers and len(buffers) == 1 and len(bytes(buffers[0])) <= CHUNK_BYTES
        assert len(json.dumps(content)) < 1000
        entry = parts.setdefault(content["id"], {"chunks": {}, **content})
        entry["chunks"][content["index"]] = bytes(buffers[0])
        if len(entry["chunks"]) == content["count"]:
            files[content["name"]] = b"".join(entry["chunks"][i] for i in range(content["count"]))

    monkeypatch.setattr(downloader, "send", send)
    return files


def test_a_large_file_goes_in_pieces_under_a_mebibyte(monkeypatch: pytest.MonkeyPatch) -> None:
    downloader = Downloader()
    files = capture(downloader, monkeypatch)
    noise = np.random.default_rng(1).integers(0, 256, (1500, 1500, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    data = buf.getvalue()
    assert len(data) > 5 * 1024 * 1024
    downloader.send_file(data, "big.png", mime="image/png")
    assert files == {"big.png": data}
    assert downloader.sent == [("big.png", len(data))]
    with pytest.raises(ValueError, match="plain file name"):
        downloader.send_file(b"x", "../escape.png")


def test_history_download_sends_the_result_and_the_session_zip(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client()
    strip = HistoryStrip(session_dir=tmp_path / "s")
    files = capture(strip.downloader, monkeypatch)
    first, second = client.text_to_image("a fox"), client.text_to_image("an owl")
    strip.add(first)
    strip.add(second)
    strip._cards[1].children[2].children[2].click()  # Download under the older result
    (name,) = files
    assert name.startswith("text_to_image-") and name.endswith(".png")
    assert strip_record(files[name]) == first.data  # as received, its record inside
    assert read_record(files[name])["prompt"] == "a fox"
    strip._download_all.click()
    zipped = files[f"clipdrop-{(tmp_path / 's').name}.zip"]
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        log = [json.loads(line) for line in zf.read("s/session.jsonl").splitlines()]
        assert [strip_record(zf.read(f"s/{r['file']}")) for r in log] == [first.data,
                                                                           second.data]
    assert "to your browser" in strip._status.value


def test_history_without_a_session_zips_what_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client()
    strip = HistoryStrip()
    assert strip._download_all.disabled
    files = capture(strip.downloader, monkeypatch)
    results = [client.text_to_image("a fox"), client.text_to_image("a fox")]  # same second
    for r in results:
        strip.add(r)
    strip.download()
    with zipfile.ZipFile(io.BytesIO(files["clipdrop-results.zip"])) as zf:
        images = sorted(n for n in zf.namelist() if n.startswith("images/"))
        assert [strip_record(zf.read(n)) for n in images] == [r.data for r in results]
        assert all(read_record(zf.read(n)) for n in images)


def test_compare_view_downloads_the_result_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    result = Client().text_to_image("a lighthouse")
    compare = CompareSlider()
    files = capture(compare.downloader, monkeypatch)
    assert compare.download_button.layout.display == "none"  # nothing to download yet
    compare.set_images(None, result)
    assert compare.download_button.layout.display == ""
    compare.download_button.click()
    assert [strip_record(d) for d in files.values()] == [result.data]
    assert read_record(next(iter(files.values())))["prompt"] == "a lighthouse"
    compare.set_images(Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8)))  # plain images
    assert compare.download_button.layout.display == "none"


def test_a_failed_session_write_is_shown_and_the_result_kept(tmp_path) -> None:
    strip = HistoryStrip(session_dir=tmp_path / "s")
    (tmp_path / "s").write_text("now a file, not a folder")  # the folder went away
    result = Result(Client().text_to_image("a fox").data, "image/png", "text_to_image")
    strip.add(result)
    assert strip.results == (result,)
    assert "could not write the result to the session folder" in strip.errors.message


def test_download_all_builds_the_zip_on_disk_and_refuses_past_its_limit(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile
    import tracemalloc

    from clipdrop_widgets.api.session import Session
    from clipdrop_widgets.widgets import download_all

    rng = np.random.default_rng(7)
    session = Session(tmp_path / "s")
    for i in range(12):  # distinct pictures of about 1 MB each
        buf = io.BytesIO()
        noise = rng.integers(0, 256, (600, 600, 3), dtype=np.uint8)
        Image.fromarray(noise).save(buf, "PNG", compress_level=0)
        session.add(Result(buf.getvalue(), "image/png", "text_to_image",
                           {"prompt": f"noise {i}"}, created=1_700_000_000.0 + i))
    total = sum(path.stat().st_size for path, _name in session.zip_members())
    assert total > 12_000_000
    strip = HistoryStrip(session_dir=tmp_path / "s", folder=tmp_path / "out")
    assert strip.wait_thumbnails(30)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    received = tmp_path / "received.zip"

    def send(content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        assert buffers and len(buffers[0]) <= CHUNK_BYTES
        with open(received, "ab") as f:  # the page's half, kept on disk: no copy in memory
            f.write(buffers[0])

    monkeypatch.setattr(strip.downloader, "send", send)
    tracemalloc.start()
    try:
        strip._download_all.click()
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not strip.errors.message
    assert peak < total / 4, f"peak {peak:,} bytes for a {total:,}-byte session"
    with zipfile.ZipFile(received) as zf:
        images = {name.rsplit("/", 1)[1]: zf.read(name) for name in zf.namelist()
                  if "/images/" in name}
    assert images == {p.name: p.read_bytes() for p in (tmp_path / "s" / "images").iterdir()}
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary zip is gone
    sent = list(strip.downloader.sent)

    monkeypatch.setattr(download_all, "DOWNLOAD_ALL_LIMIT", total // 2)
    received.unlink()
    strip._download_all.click()
    message = strip.errors.message
    assert download_all.size_words(total) in message and "Save all" in message
    assert download_all.size_words(total // 2) in message
    assert not received.exists() and strip.downloader.sent == sent  # nothing sent
    assert list((tmp_path / "tmp").iterdir()) == []
    strip._save_all.click()  # nothing lost: Save all writes every result to the folder
    assert len(list((tmp_path / "out").iterdir())) == 12 and not strip.errors.message
