"""The widgets' front-end modules as their state carries them to the page."""

from __future__ import annotations

import pathlib

__all__ = ["esm_source"]

_HERE = pathlib.Path(__file__).parent


def esm_source(*names: str) -> str:
    """The modules ``names`` (``.js`` files beside this one), joined in that order, without
    their whole-line ``//`` comments.

    Every widget's state carries its module's text, once per widget: the Studio's two keyboard
    helpers sent 34 kB of it before its first view, 40 % of it comment lines (issue 22,
    first paint). The comments stay in the files; none of our modules has a line starting
    with ``//`` inside a template literal (``tests/widgets/test_esm.py`` checks, and that
    Node still parses every module as the page gets it)."""
    parts = []
    for name in names:
        text = (_HERE / name).read_text(encoding="utf-8")
        parts.append("\n".join(line for line in text.splitlines()
                               if not line.lstrip().startswith("//")) + "\n")
    return "\n".join(parts)
