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


def test_demo_stays_on_the_local_engine_with_a_key_unless_told(tmp_path):
    """With CLIPDROP_API_KEY set, `demo` spends nothing; `demo --service` spends one call each."""
    from clipdrop_widgets import ENDPOINTS, serve

    with serve(port=0, background=True, api_key="sk-room", credits=100) as server:
        env = {**os.environ, "CLIPDROP_API_KEY": "sk-room", "CLIPDROP_API_URL": server.url}
        free = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--out",
                               str(tmp_path / "free")], env=env, capture_output=True,
                              text=True, timeout=120)
        assert free.returncode == 0, free.stderr
        assert "5 results written" in free.stdout and "--service" in free.stderr
        assert server.engine.remaining_credits == 100 and not server.engine.log
        paid = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--service",
                               "--out", str(tmp_path / "paid")], env=env, capture_output=True,
                              text=True, timeout=120)
        assert paid.returncode == 0, paid.stderr
        cost = sum(e.credits for e in ENDPOINTS.values())
        assert server.engine.remaining_credits == 100 - cost
        assert f"{cost} credits" in paid.stderr
    env.pop("CLIPDROP_API_KEY")
    refused = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--service",
                              "--out", str(tmp_path / "none")], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and "set CLIPDROP_API_KEY" in refused.stderr


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
