"""The run commands: ``demo`` writes five results; ``studio`` serves the Studio in Voila."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from PIL import Image


def test_demo_writes_five_previews(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    out = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "5 results written" in out.stdout
    assert "CLIPDROP_API_KEY" in out.stderr  # it says, once, that these are local previews
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("input_"))
    assert names == ["cleanup.png", "replace_background.jpg", "sketch_to_image.jpg",
                     "text_inpainting.jpg", "text_to_image.png"]
    for name in names:
        assert Image.open(tmp_path / name).size[0] >= 256
    assert out.stdout.count("offline preview") == 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_studio_serves_in_voila(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_")}
    proc = subprocess.Popen([sys.executable, "-m", "clipdrop_widgets", "studio", "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        page = None
        while time.monotonic() < deadline:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=60)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        assert page is not None and page.status_code == 200
        assert "application/vnd.jupyter.widget-view+json" in page.text  # the Studio's view
        assert "Traceback" not in page.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    assert "local engine" in output.splitlines()[0]
