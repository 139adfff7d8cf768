"""The Python blocks of README.md and docs/ run as tests (pytest-markdown-docs).

``bash scripts/test`` runs them with ``pytest README.md docs --markdown-docs
--markdown-docs-syntax=superfences``. Blocks of one page share their state: a block marked
``continuation`` runs after the page's blocks before it. A block marked ``notest`` is not run;
the page says why just above it (``tests/docs/test_doc_blocks.py`` checks that it does).

Each block runs as a reader's fresh session would: in an empty folder (files it saves land
there), without ``CLIPDROP_API_KEY`` (so on the local engine) and with the notices shown once.
"""

from __future__ import annotations

import logging
import warnings

import pytest


@pytest.fixture(autouse=True)
def _a_readers_session(request, monkeypatch):
    if request.node.get_closest_marker("markdown-docs") is None:
        yield
        return
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    monkeypatch.chdir(request.getfixturevalue("tmp_path"))
    logger = logging.getLogger("clipdrop_widgets")
    level = logger.level  # a page may turn the package's logging up (research.md)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        logger.setLevel(level)
