"""The README's example runs as written (on the local engine)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from clipdrop_widgets.api.notices import ClipdropNotice

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_ten_line_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    section = README.read_text().split("## In ten lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 11
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        exec(compile(code, str(README), "exec"), namespace)  # our own README
    assert capsys.readouterr().out.startswith("text_to_image: 512x512 image/png, 2 credits")
    assert (tmp_path / "fox-clean.png").stat().st_size > 0
    assert namespace["clean"].size == namespace["fox"].size
    assert repr(namespace["Studio"](namespace["client"])).startswith("Studio(")
