"""The command's help counts the operations from the endpoint table (it said "five" after six
more were added)."""

from __future__ import annotations

import pytest

from clipdrop_widgets.cli import build_parser
from clipdrop_widgets.contract.endpoints import ENDPOINTS


def _help(*words: str, capsys) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*words, "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("words", [(), ("serve",), ("demo",), ("gateway", "serve")])
def test_help_counts_every_operation(words, capsys):
    text = _help(*words, capsys=capsys)
    assert "five" not in text
    assert f"{len(ENDPOINTS)} " in text
