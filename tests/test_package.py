"""The package's surface: a light import, every public name importable, typed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import clipdrop_widgets


def test_import_loads_nothing_heavy():
    """Names load on first use (PEP 562): importing the package pulls in none of these."""
    code = ("import sys, json, clipdrop_widgets; print(json.dumps(sorted(m for m in "
            "('cv2', 'ipywidgets', 'ipycanvas', 'requests', 'matplotlib', 'numpy', 'PIL') "
            "if m in sys.modules)))")
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code]))
    assert loaded == []


def test_every_public_name_resolves():
    for name in clipdrop_widgets.__all__:
        assert getattr(clipdrop_widgets, name) is not None, name
    assert set(clipdrop_widgets.__all__) <= set(dir(clipdrop_widgets))


def test_the_package_is_typed():
    assert (Path(clipdrop_widgets.__file__).parent / "py.typed").exists()
