"""Every error the package raises is a ClipdropError: the source raises no bare built-in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import clipdrop_widgets
from clipdrop_widgets import (
    ClipdropError,
    ConfigurationError,
    ConfigurationTypeError,
    NotFoundError,
    SketchPad,
    StateError,
    Studio,
)

PACKAGE = Path(clipdrop_widgets.__file__).parent
#: (A module's ``__getattr__`` must raise a plain AttributeError: that is Python's protocol.)
BUILTINS = {"ValueError", "TypeError", "KeyError", "LookupError", "RuntimeError",
            "IndexError", "Exception"}


def _bare_raises(path: Path, root: Path = PACKAGE) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = getattr(node.exc.func, "id", None)
            if name in BUILTINS:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} raises {name}")
    return found


def test_the_source_raises_no_bare_builtin_error():
    found = [hit for p in sorted(PACKAGE.rglob("*.py")) for hit in _bare_raises(p)]
    assert found == []


def test_the_checker_sees_a_bare_raise(tmp_path):
    path = tmp_path / "clipdrop_widgets" / "m.py"
    path.parent.mkdir()
    path.write_text("def f():\n    raise ValueError('no')\n")
    assert _bare_raises(path, path.parent) == ["clipdrop_widgets/m.py:2 raises ValueError"]


def test_the_new_classes_are_still_the_builtins_old_code_catches():
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(ConfigurationTypeError, TypeError)
    assert issubclass(NotFoundError, KeyError) and issubclass(NotFoundError, LookupError)
    assert issubclass(StateError, RuntimeError)
    for cls in (ConfigurationError, ConfigurationTypeError, NotFoundError, StateError):
        assert issubclass(cls, ClipdropError)


def test_widgets_and_apps_refuse_impossible_arguments_with_clipdrop_errors():
    with pytest.raises(ConfigurationError, match="brush_size"):
        SketchPad(brush_size=0)
    studio = Studio()
    with pytest.raises(NotFoundError, match="no app") as caught:
        studio.select("nope")
    assert str(caught.value).startswith("no app 'nope'")  # not quoted as a KeyError would be
