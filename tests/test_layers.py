"""The package's layers, read from its source: no module imports a layer above its own.

``contract`` (the endpoint table, validation, errors) -> ``api`` (the client) and ``engine`` (the
same contract served locally) -> ``widgets`` and ``gateway`` -> ``apps`` and ``explore`` ->
``cli``. The API layer may reach the engine only lazily (inside a function, for ``local://``);
the engine never imports the client. Siblings of one rank do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import clipdrop_widgets

PACKAGE = Path(clipdrop_widgets.__file__).parent

#: The rank of each layer: a module may import its own layer and layers of a lower rank.
RANKS = {
    "_version": 0,
    "contract": 0,
    "api": 1,
    "engine": 1,
    "widgets": 2,
    "gateway": 2,
    "apps": 3,
    "explore": 3,
    "launcher": 0,
    "cli": 4,
    "__main__": 5,
    "__init__": 5,
}
#: Imports allowed across ranks or siblings only when made inside a function (lazily).
LAZY_ONLY = {("api", "engine")}
#: Modules that may stand flat in the package, beside the layer packages.
FLAT_ALLOWED = {"__init__.py", "__main__.py", "_version.py", "cli.py"}


def _layer(module: str) -> str:
    """``clipdrop_widgets.api.client`` -> ``api``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path, root: Path) -> str:
    """``<root>/api/client.py`` -> ``clipdrop_widgets.api.client`` (``__init__`` kept)."""
    return ".".join(path.relative_to(root.parent).with_suffix("").parts)


def _imports(path: Path, root: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, made inside a function) for every import of this package."""
    package = _module_name(path, root).rsplit(".", 1)[0]  # the package the module sits in
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # imports for type checkers only: never run
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.startswith("clipdrop_widgets"):
                    if base == "clipdrop_widgets":  # from . import x: x is a module
                        found.extend((f"{base}.{a.name}", child.lineno, inner)
                                     for a in child.names)
                    else:
                        found.append((base, child.lineno, inner))
            elif isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, inner) for a in child.names
                             if a.name.startswith("clipdrop_widgets"))
            visit(child, inner)

    visit(tree, False)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _violations(root: Path) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        mine = _layer(_module_name(path, root))
        for target, line, lazy in _imports(path, root):
            theirs = _layer(target)
            if theirs == mine:
                continue
            if (mine, theirs) in LAZY_ONLY and lazy:
                continue
            if RANKS[theirs] < RANKS[mine]:
                continue
            where = f"{path.relative_to(root.parent)}:{line}"
            bad.append(f"{where}: {mine} (rank {RANKS[mine]}) imports {target} "
                       f"({theirs}, rank {RANKS[theirs]})")
    return bad


def test_every_layer_is_known():
    layers = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    flat = {p.stem for p in PACKAGE.glob("*.py")}
    assert layers | flat <= set(RANKS), f"a new layer needs a rank: {(layers | flat) - set(RANKS)}"


def test_no_module_stands_flat_but_the_entry_points():
    assert {p.name for p in PACKAGE.glob("*.py")} == FLAT_ALLOWED


def test_no_layer_imports_a_layer_above_it():
    assert _violations(PACKAGE) == []


def test_the_checker_sees_a_step_backwards(tmp_path):
    """The walk must catch the two mistakes it exists for (a test that cannot fail is none)."""
    pkg = tmp_path / "clipdrop_widgets"
    for sub in ("contract", "api", "engine"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "contract" / "endpoints.py").write_text("from ..api.client import Client\n")
    (pkg / "engine" / "core.py").write_text("from ..api import constants as C\n")
    (pkg / "api" / "client.py").write_text(
        "from ..engine import LocalEngine\n"
        "def f():\n    from ..engine import LocalEngine\n")
    found = _violations(pkg)
    assert len(found) == 3, found
    assert any("contract/endpoints.py:1" in v for v in found)
    assert any("engine/core.py:1" in v and "(api, rank 1)" in v for v in found)
    assert any("api/client.py:1" in v for v in found)  # eager; the lazy one on line 3 passes


@pytest.mark.parametrize("layer", ["contract", "api", "engine", "widgets", "apps", "explore"])
def test_each_layer_says_what_it_holds(layer):
    init = PACKAGE / layer / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text())), f"{layer}/__init__.py needs a docstring"
