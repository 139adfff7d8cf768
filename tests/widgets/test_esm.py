"""The widgets' modules as the page gets them (`esm_source`): without their comment lines (the
Studio's start state carried them once per widget, issue 22), and still the same program."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from clipdrop_widgets.widgets import _esm
from clipdrop_widgets.widgets._esm import esm_source

MODULES = sorted(p.name for p in Path(_esm.__file__).parent.glob("*.js"))
NODE = shutil.which("node")


def test_every_module_is_sent_without_its_comment_lines():
    for name in MODULES:
        full = (Path(_esm.__file__).parent / name).read_text(encoding="utf-8")
        sent = esm_source(name)
        assert not [line for line in sent.splitlines() if line.lstrip().startswith("//")]
        code = [line for line in full.splitlines() if not line.lstrip().startswith("//")]
        assert sent.splitlines() == code, name  # every line of code, in order, unchanged
        assert len(sent) < len(full) or "//" not in full


@pytest.mark.parametrize("name", MODULES)
def test_no_template_literal_holds_a_line_that_looks_like_a_comment(name):
    """The one way dropping ``//`` lines could change a program: a multi-line template
    literal with such a line. None of our modules has one."""
    inside = False
    for number, line in enumerate((Path(_esm.__file__).parent / name).read_text().splitlines(), 1):
        comment = line.lstrip().startswith("//")
        assert not (inside and comment), f"{name}:{number} is inside a template literal"
        if not comment and len(re.findall(r"(?<!\\)`", line)) % 2:
            inside = not inside
    assert not inside, f"{name}: a template literal is never closed"


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_node_parses_every_module_as_sent(tmp_path):
    for name in [*MODULES, "zoom.js+ink.js"]:
        source = esm_source(*name.split("+"))
        module = tmp_path / (name.replace("+", "_") + ".mjs")
        module.write_text(source, encoding="utf-8")
        checked = subprocess.run([NODE, "--check", str(module)], capture_output=True,
                                 text=True, timeout=60)
        assert checked.returncode == 0, (name, checked.stderr[-2000:])
