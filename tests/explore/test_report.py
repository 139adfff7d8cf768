"""export_html: one self-contained file holding every image as received, its record and what
fed what; a 500-image session's report stays under twice the images' size; no key inside.
(Chromium opens it offline in tests/browser/test_browser_report.py.)"""

from __future__ import annotations

import base64
import io
import json
import re
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from fault_server import UNPACED, FaultServer
from PIL import Image

from clipdrop_widgets import Client, Session, Sweep, export_html
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.contract.errors import ConfigurationError, ConfigurationTypeError

SENTINEL = "cdw-planted-key-report-5d0e"


def report_data(path: Path) -> dict:
    page = path.read_text(encoding="utf-8")
    found = re.search(r'<script id="report-data" type="application/json">(.*?)</script>',
                      page, re.S)
    return json.loads(found.group(1))


def photo_like(rng: np.random.Generator, size: int = 512) -> bytes:
    """A JPEG with a photo's texture (smooth shapes and grain), about 100 KB."""
    small = rng.integers(0, 255, (size // 32, size // 32, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
    grain = rng.normal(0, 12, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=float) + grain, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_a_500_image_sessions_report_is_under_twice_the_images(tmp_path):
    rng = np.random.default_rng(3)
    session = Session(tmp_path / "big")
    sent = []
    for i in range(500):
        result = Result(photo_like(rng), "image/jpeg", "text_to_image",
                        {"prompt": f"a lighthouse, take {i}", "api_key": SENTINEL},
                        credits_consumed=1, created=time.time() + i)
        session.add(result)
        sent.append(result.data)
    images = sum(len(d) for d in sent)
    assert images > 30_000_000  # tens of megabytes of pictures, as a real session has
    tracemalloc.start()
    try:
        out = Path(export_html(tmp_path / "big", tmp_path / "big.html"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < images / 5, (peak, images)  # written a picture at a time, not all at once
    assert out.stat().st_size < 2 * images, (out.stat().st_size, images)
    data = report_data(out)
    assert len(data["items"]) == 500
    for item, original in zip(data["items"], sent, strict=True):
        assert base64.b64decode(item["src"].split(",", 1)[1]) == original  # as received
    assert SENTINEL not in out.read_text(encoding="utf-8")


def test_the_report_says_what_fed_what_and_allows_no_request(tmp_path):
    client = Client()
    session = Session(tmp_path / "s")
    fox = client.text_to_image("a fox in the snow")
    session.add(fox)
    mask = np.zeros((fox.height, fox.width), dtype=bool)
    mask[10:90, 10:90] = True
    session.add(client.cleanup(fox.data, mask))
    out = Path(export_html(session, tmp_path / "r.html", title="Foxes <&>"))
    page = out.read_text(encoding="utf-8")
    assert "<title>Foxes &lt;&amp;&gt;</title>" in page
    assert "default-src 'none'" in page  # the browser refuses every request
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing to fetch
    items = report_data(out)["items"]
    assert [i["parent"] for i in items] == [None, 0]
    photo = items[1]["inputs"]["image_file"]
    assert photo in report_data(out)["pictures"]  # the photo before, for the divider
    assert "mask_file" not in report_data(out)["pictures"].values()


def test_a_sweeps_report_has_its_template_and_values(tmp_path):
    with FaultServer() as server:
        sweep = Sweep(Client("k", base_url=server.url, max_retries=0,
                             requests_per_minute=UNPACED), "text_to_image",
                      template="a {animal}", variables={"animal": ["fox", "hen"]},
                      run_dir=tmp_path / "run")
        sweep.run(progress=False)
    items = report_data(Path(export_html(tmp_path / "run", tmp_path / "sweep.html")))["items"]
    assert [i["values"] for i in items] == [{"animal": "fox"}, {"animal": "hen"}]
    assert {i["template"] for i in items} == {"a {animal}"}


def test_a_report_of_something_else_is_refused_clearly(tmp_path):
    with pytest.raises(ConfigurationError, match="neither a session"):
        export_html(tmp_path, tmp_path / "x.html")
    with pytest.raises(ConfigurationTypeError, match="Session, a Sweep or the folder"):
        export_html(42, tmp_path / "x.html")


HOSTILE_PROMPTS = ["a hen <!-- x", "<!DOCTYPE html> a fox", "<![CDATA[ an owl ]]>",
                   "a cat </script><script>window.__xss=1</script>", "a & b > c",
                   "line\u2028separator\u2029paragraph"]


def test_a_prompt_with_markup_keeps_the_reports_data_readable(tmp_path):
    """``<!--``, ``<!DOCTYPE``, ``<![CDATA[``, ``</script`` in a prompt: the report's JSON
    still parses (``JSON.parse`` rejects ``\\!``) and holds the prompts exactly."""
    client = Client()
    session = Session(tmp_path / "s")
    for prompt in HOSTILE_PROMPTS:
        session.add(client.text_to_image(prompt))
    out = Path(export_html(session, tmp_path / "r.html"))
    script = out.read_text(encoding="utf-8").split(
        '<script id="report-data" type="application/json">', 1)[1].split("</script>", 1)[0]
    for unsafe in ("<", ">", "&", "\u2028", "\u2029"):
        assert unsafe not in script
    assert [i["prompt"] for i in json.loads(script)["items"]] == HOSTILE_PROMPTS
