"""The docs' code blocks: each one that is not run says why, where readers see it; the
cleanup page's strokes cover the whole spoon.

The blocks themselves run as tests through pytest-markdown-docs (``bash scripts/test``:
``pytest README.md docs --markdown-docs --markdown-docs-syntax=superfences``; the root
``conftest.py`` gives each a fresh folder and no key).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt
from pytest_markdown_docs.plugin import FenceSyntax, extract_fence_tests

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^[ \t]*```[ \t]*(\{[^}\n]*\}|[^\s`]*)([^\n]*)$", re.M)


def python_fences(text: str) -> list[tuple[int, str]]:
    """(line number, info string) of every fence that opens a Python block."""
    found, inside = [], False
    for match in FENCE.finditer(text):
        if inside:
            inside = False
            continue
        inside = True
        info = (match[1] + match[2]).strip()
        if re.match(r"^\{?\.?(python3?|py)\b", info):
            found.append((text.count("\n", 0, match.start()) + 1, info))
    return found


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_a_block_that_is_not_run_says_why_just_above_it(page):
    lines = page.read_text().splitlines()
    for number, info in python_fences(page.read_text()):
        if "notest" not in info:
            continue
        above = " ".join(lines[max(0, number - 4):number - 1]).lower()
        assert "not run by the tests" in above, (
            f"{page.name}:{number}: a notest block needs 'Not run by the tests: <reason>' "
            "just above it, where readers see it")


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_other_python_block_is_collected(page):
    text = page.read_text()
    expected = [n for n, info in python_fences(text) if "notest" not in info]
    collected = list(extract_fence_tests(MarkdownIt("commonmark"), text, 0, page,
                                         fence_syntax=FenceSyntax.superfences))
    assert len(collected) == len(expected), f"{page.name}: blocks {expected} not all collected"


def test_the_cleanup_example_masks_the_whole_spoon(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    page = ROOT / "docs" / "operations" / "cleanup.md"
    (block,) = extract_fence_tests(MarkdownIt("commonmark"), page.read_text(), 0, page,
                                   fence_syntax=FenceSyntax.superfences)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block.source, str(page), "exec"), namespace)  # our own page
    mask = np.asarray(namespace["painter"].mask) > 0
    spoon = {"handle's tip": (411, 70), "handle": (398, 150), "neck": (381, 240),
             "bowl's centre": (365, 282), "bowl's left": (332, 282), "bowl's right": (398, 272),
             "bowl's top": (362, 248), "bowl's bottom": (362, 318)}
    missed = [part for part, (x, y) in spoon.items() if not mask[y, x]]
    assert not missed, f"the example's strokes leave the spoon's {missed} unmasked"
    assert not mask[150, 290] and not mask[270, 230]  # the coffee and the cup's handle stay
    assert namespace["result"].size == (600, 400)
