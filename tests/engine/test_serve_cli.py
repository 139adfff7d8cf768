"""``python -m clipdrop_widgets serve`` answers the seed documents' own commands.

The server runs as a real subprocess on a free loopback port. Each seed's curl command is run
by bash as the seed writes it, with only the host (``https://clipdrop-api.co`` -> the local
URL) and ``YOUR_API_KEY`` changed, plus two repairs of scraping damage, marked below: two
seeds lost the URL after ``curl -X POST``, and two lost the ``\\`` before ``-o result.png``.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw

from clipdrop_widgets.contract.endpoints import CONTENT_TYPE_FORMATS, ENDPOINTS

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

KEY = "cli-test-key-5f2a"
TIMEOUT = 30  # seconds

# (endpoint, the seed's command, the file it writes). Host and key are placeholders.
SEED_COMMANDS = [
    # 000 (sketch to image). Repair: the seed's URL was lost after "curl -X POST".
    ("sketch_to_image", """curl -X POST {base}/sketch-to-image/v1/sketch-to-image \\
-H 'x-api-key: YOUR_API_KEY' \\
-F sketch_file=@owl-sketch.jpg \\
-F 'prompt=an owl on a branch, cinematic' \\
-o result.jpg""", "result.jpg"),
    # 001 (text to image). Repair: "\\" restored before "-o result.png".
    ("text_to_image", """curl -X POST https://clipdrop-api.co/text-to-image/v1 \\
-H 'x-api-key: YOUR_API_KEY' \\
-F 'prompt=photograph of a cat surfing' \\
-o result.png""", "result.png"),
    # 002 (text inpainting): as written.
    ("text_inpainting", """curl -X POST https://clipdrop-api.co/text-inpainting/v1 \\
-H 'x-api-key: YOUR_API_KEY' \\
-F 'image_file=@image.jpg' \\
-F 'mask_file=@mask.png' \\
-F 'text_prompt="A woman with a red scarf"' \\
-o result.png""", "result.png"),
    # 003 (cleanup). Repair: the seed's URL was lost after "curl -X POST".
    ("cleanup", """curl -X POST {base}/cleanup/v1 \\
-H 'x-api-key: YOUR_API_KEY' \\
-F 'image_file=@image.jpg' \\
-F 'mask_file=@mask.png' \\
-o result.png""", "result.png"),
    # 004 (replace background). Repair: "\\" restored before "-o result.png".
    ("replace_background", """curl -X POST https://clipdrop-api.co/replace-background/v1 \\
-H 'x-api-key: YOUR_API_KEY' \\
-F 'image_file=@wine_bottle.jpg' \\
-F 'prompt=a cozy marble kitchen with wine glasses' \\
-o result.png""", "result.png"),
]


def localise(command: str, base: str, key: str) -> str:
    """The seed command aimed at ``base`` with ``key``: nothing else changes."""
    return (command.replace("https://clipdrop-api.co", base).replace("{base}", base)
            .replace("YOUR_API_KEY", key))


def write_seed_files(folder: Path) -> None:
    """The files the seeds' commands name: an owl sketch, a photo and its mask, a bottle."""
    owl = Image.new("RGB", (512, 512), "black")
    draw = ImageDraw.Draw(owl)
    draw.ellipse((136, 96, 376, 440), outline="white", width=6)  # body
    draw.ellipse((176, 150, 246, 220), outline="white", width=6)  # eyes
    draw.ellipse((266, 150, 336, 220), outline="white", width=6)
    draw.polygon([(236, 240), (276, 240), (256, 280)], outline="white", width=6)  # beak
    draw.line((60, 440, 452, 440), fill="white", width=8)  # branch
    owl.save(folder / "owl-sketch.jpg", quality=95)
    # Noisy, so image.jpg is over 1 MB and curl sends "Expect: 100-continue".
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (1600, 1200, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "image.jpg", quality=95)
    mask = Image.new("L", (1200, 1600), 0)
    mask.paste(255, (400, 500, 800, 1100))
    mask.save(folder / "mask.png")
    bottle = Image.new("RGB", (600, 800), (230, 225, 215))
    ImageDraw.Draw(bottle).rounded_rectangle((240, 200, 360, 760), 40, fill=(40, 90, 50))
    bottle.save(folder / "wine_bottle.jpg", quality=90)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]


def start(*args: str, env: dict[str, str] | None = None) -> Served:
    """Start ``python -m clipdrop_widgets serve`` and wait for its one line (it then listens)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "clipdrop_widgets", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = f"http://127.0.0.1:{port}"
    if url not in line:
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {process.communicate()}")
    assert "offline preview" in line
    assert requests.post(url + "/nope", timeout=TIMEOUT).status_code == 404  # it answers
    return Served(url, process)


def stop(served: Served) -> str:
    """Stop the server as a kill does (SIGTERM), wait for it, and return all it printed."""
    served.process.send_signal(signal.SIGTERM)
    out, err = served.process.communicate(timeout=TIMEOUT)
    assert served.process.returncode == 0, err
    return out + err


@pytest.fixture
def keyed_server() -> Iterator[Served]:
    served = start("--api-key", KEY)
    yield served
    printed = stop(served)
    assert KEY not in printed


@pytest.mark.parametrize(("name", "command", "output"), SEED_COMMANDS,
                         ids=[name for name, _, _ in SEED_COMMANDS])
def test_seed_curl_command(keyed_server: Served, tmp_path: Path, name: str, command: str,
                           output: str) -> None:
    write_seed_files(tmp_path)
    done = subprocess.run(["bash", "-c", localise(command, keyed_server.url, KEY)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / output) as result:
        expected = CONTENT_TYPE_FORMATS[ENDPOINTS[name].output_content_type]
        assert result.format.lower() == expected, (tmp_path / output).read_bytes()[:200]


def test_seed_python_sample(keyed_server: Served) -> None:
    r = requests.post(keyed_server.url + "/text-to-image/v1",
                      files={},
                      data={"prompt": "photograph of a cat surfing"},
                      headers={"x-api-key": KEY},
                      timeout=TIMEOUT)
    if r.ok:
        assert Image.open(io.BytesIO(r.content)).format == "PNG"
    else:
        r.raise_for_status()


def test_keys(keyed_server: Served) -> None:
    url = keyed_server.url + "/text-to-image/v1"
    wrong = requests.post(url, files={"prompt": (None, "a fox")},
                          headers={"x-api-key": "not-the-key"}, timeout=TIMEOUT)
    assert wrong.status_code == 403
    assert wrong.headers["Content-Type"] == "application/json"
    missing = requests.post(url, files={"prompt": (None, "a fox")}, timeout=TIMEOUT)
    assert missing.status_code == 401
    assert missing.json() == {"error": "No api key provided"}


def test_key_from_the_environment_stays_out_of_the_process_list() -> None:
    served = start(env={"CLIPDROP_ENGINE_API_KEY": KEY})
    try:
        assert KEY not in " ".join(served.process.args)
        url = served.url + "/cleanup/v1"
        assert requests.post(url, headers={"x-api-key": "other"},
                             timeout=TIMEOUT).status_code == 403
        assert requests.post(url, headers={"x-api-key": KEY}, timeout=TIMEOUT).status_code == 400
    finally:
        assert KEY not in stop(served)


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "clipdrop_widgets", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_serve_help_counts_the_endpoints_from_the_table() -> None:
    """It said "Serve the five ClipDrop endpoints"; the engine serves every one in the table."""
    import subprocess
    import sys

    from clipdrop_widgets.contract.endpoints import ENDPOINTS

    shown = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "serve", "--help"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"Serve the {len(ENDPOINTS)} ClipDrop endpoints" in " ".join(shown.split())
    assert len(ENDPOINTS) == 11 and "five" not in shown
