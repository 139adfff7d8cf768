"""The launcher's Voila on a workshop server: a visitor's kernel is shut down once their page
is closed (and idle), while the preheated one waits for the next visitor.

Kernels are counted as ``ipykernel`` processes descended from the launcher.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from labpage import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def _parents() -> dict[int, tuple[int, bytes]]:
    """Every process: pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmd)
    return found


def kernels_under(root: int) -> int:
    procs = _parents()

    def descends(pid: int) -> bool:
        for _ in range(20):
            pid = procs.get(pid, (0, b""))[0]
            if pid == root:
                return True
            if pid <= 1:
                return False
        return False

    return sum(1 for pid, (_parent, cmd) in procs.items()
               if b"ipykernel" in cmd and descends(pid))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_pages_kernel_is_shut_down_and_the_preheated_one_stays(browser, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_")}
    env["CLIPDROP_WIDGETS_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "clipdrop_widgets", "studio", "--port",
                             str(port), "--close-idle-after", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                     daemon=True).start()
    try:
        wait_until(lambda: kernels_under(proc.pid) == 1 or None, timeout=120,
                   what="the preheated kernel")
        context = browser.new_context()
        page = context.new_page()
        url = wait_until(lambda: next((line.rsplit("open ", 1)[1].strip() for line in lines
                                       if "open http" in line), None),
                         timeout=60, what="the launcher's address (with its token)")
        page.goto(url, timeout=120_000)
        page.locator(".cdw-run").first.wait_for(timeout=120_000)
        wait_until(lambda: kernels_under(proc.pid) == 2 or None, timeout=120,
                   what="the visitor's kernel and a new preheated one")
        time.sleep(5)  # idle, but the page is open: its kernel stays
        assert kernels_under(proc.pid) == 2
        context.close()  # the visitor leaves
        wait_until(lambda: kernels_under(proc.pid) == 1 or None, timeout=60,
                   what="the closed page's kernel to be shut down")
        time.sleep(4)  # the preheated kernel is never culled
        assert kernels_under(proc.pid) == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert "".join(lines).startswith("clipdrop-widgets Studio on the local engine")
