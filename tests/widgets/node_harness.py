"""Run one of the widgets' front-end modules under Node, outside a browser.

Each ``test_widget_*_js.py`` has a harness (an ES module) that imports the widget's module,
drives it with stand-ins for the page, and prints what it saw as JSON. `run_module` gives it a
temporary folder holding ``harness.mjs`` and a copy of ``clipdrop_widgets/widgets/NAME.js`` as
``NAME.mjs`` (Node reads ``.mjs`` as an ES module), plus any input files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import clipdrop_widgets.widgets as widgets_pkg

__all__ = ["NODE", "run_module"]

#: The ``node`` executable, or ``None`` (the tests that need it are skipped then).
NODE = shutil.which("node")


def run_module(name: str, harness: str, *args: str,
               files: Mapping[str, str] | None = None) -> Any:
    """``node harness.mjs ARGS`` beside the widget module ``NAME.js`` (and ``files``: file
    name -> text); its output parsed as JSON. A failing harness fails the test with its
    stderr."""
    assert NODE is not None, "node is needed"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        shutil.copy(Path(widgets_pkg.__file__).parent / f"{name}.js", work / f"{name}.mjs")
        (work / "harness.mjs").write_text(harness)
        for file_name, text in (files or {}).items():
            (work / file_name).write_text(text)
        done = subprocess.run([NODE, "harness.mjs", *args], cwd=work, capture_output=True,
                              text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
