"""Record the scripts the Studio's Voila page preloads (``clipdrop_widgets/share/voila/
preload.json``, see ``clipdrop_widgets/launcher/preload.py``).

    .venv/bin/python tests/browser/make_preload.py

Serves the launcher's Studio notebook with Voila as ``clipdrop-widgets studio`` does, but
without the preloads, opens it in a fresh Chromium page, and writes every script the page asked
for, in order, up to a usable Run (and a second more), with the build it ran: Voila's version
and the front-end extensions' entry files. Run it after upgrading Voila, ipywidgets, ipycanvas
or anywidget: until then the launcher's page has no preloads (the record is of another build)
and ``tests/browser/test_browser_voila_requests.py`` says so. About 30 seconds.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

from bench_studio_start import RUN_BUTTON, _voila, _wait_filled, _wait_up  # noqa: E402
from servers import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

from clipdrop_widgets.cli import studio_notebook  # noqa: E402
from clipdrop_widgets.launcher.preload import RECORD, record  # noqa: E402

CONFIG_DATA = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)'
                         r"</script>", re.S)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cdw-preload-") as tmp, sync_playwright() as p:
        home = Path(tmp)
        (home / "nb").mkdir()
        notebook = studio_notebook(home / "nb", session_dir=home / "session")
        port = free_port()
        proc, log = _voila(notebook, home, port, True, None, preload=False)
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            _wait_up(port)
            _wait_filled(log, 1)
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            scripts: list[str] = []
            page.on("request", lambda r: scripts.append(r.url)
                    if r.resource_type == "script" else None)
            address = f"http://127.0.0.1:{port}/"
            page.goto(address, timeout=120_000)
            page.locator(RUN_BUTTON).first.wait_for(state="visible", timeout=120_000)
            page.wait_for_timeout(1000)
            config = json.loads(CONFIG_DATA.search(page.content()).group(1))
            paths = record(address, config, scripts)
        finally:
            browser.close()
            os.killpg(proc.pid, 15)
            proc.wait(30)
    print(f"{RECORD}: {len(paths)} scripts")


if __name__ == "__main__":
    main()
