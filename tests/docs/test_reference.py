"""The API reference is complete: every public name has an entry, every member listed there
has a description, and no public method or property of a documented class is left out.

The reference pages (docs/reference/*.md) are mkdocstrings directives (``::: path`` with
options); griffe, the library mkdocstrings reads the code with, is used here the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe
import pytest
import yaml

import clipdrop_widgets
from clipdrop_widgets.contract import errors

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
DIRECTIVE = re.compile(r"^::: (?P<path>\S+)[ \t]*\n(?P<options>(?:[ \t]+\S.*\n)*)", re.M)


def directives() -> list[tuple[str, str, dict]]:
    """(page, object path, options) for every ``:::`` directive, in page order."""
    found = []
    for page in sorted(REFERENCE.glob("*.md")):
        for match in DIRECTIVE.finditer(page.read_text()):
            options = yaml.safe_load(match["options"]) if match["options"].strip() else {}
            found.append((page.name, match["path"], (options or {}).get("options", {})))
    return found


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    return griffe.load("clipdrop_widgets", search_paths=[str(ROOT)], resolve_aliases=True,
                       resolve_external=False)


def _described(obj: griffe.Object | griffe.Alias) -> bool:
    return bool(obj.docstring and obj.docstring.value.strip())


def _attributes_section(obj: griffe.Object) -> set[str]:
    """Names the class docstring's "Attributes:" section describes."""
    if obj.docstring is None:
        return set()
    return {item.name for section in obj.docstring.parse("google")
            if section.kind.value == "attributes" for item in section.value}


def test_every_public_name_has_a_reference_entry():
    documented = {path for _, path, _ in directives()}
    missing = [n for n in clipdrop_widgets.__all__ if f"clipdrop_widgets.{n}" not in documented]
    assert not missing, f"no '::: clipdrop_widgets.NAME' entry in docs/reference for {missing}"


@pytest.mark.parametrize(("page", "path", "options"), directives(),
                         ids=[f"{p}:{o}" for p, o, _ in directives()])
def test_each_entry_and_its_members_are_described(package, page, path, options):
    obj = package[path.removeprefix("clipdrop_widgets.")]
    obj = obj.final_target if obj.is_alias else obj
    if options.get("show_root_heading", True) is not False:
        assert _described(obj), f"{path} ({page}) has no docstring"
    listed = options.get("members")
    listed = [] if listed is False else listed
    own = {name: m for name, m in obj.members.items()
           if not name.startswith("_") and not m.is_alias}
    if isinstance(listed, list):
        for name in listed:
            assert name in obj.all_members, f"{page} lists {path}.{name}, which does not exist"
            assert _described(obj.all_members[name]), f"{path}.{name} has no description"
        callables = {n for n, m in own.items()
                     if m.is_function or (m.is_attribute and "property" in m.labels)}
        left_out = sorted(callables - set(listed))
        assert not left_out, f"{page} leaves out {path}'s public members {left_out}"
    elif obj.is_class:
        in_table = _attributes_section(obj)  # rendered as the class's "Attributes" table
        undescribed = sorted(n for n, m in own.items() if not _described(m) and n not in in_table)
        assert not undescribed, f"{path}'s members {undescribed} have no description"


def test_the_errors_page_follows_the_errors_module():
    classes = [n for n in errors.__all__ if isinstance(getattr(errors, n), type)]
    on_page = [path.rsplit(".", 1)[-1] for page, path, _ in directives()
               if page == "errors.md" and path.endswith("Error")]
    assert on_page == classes
    readme = (ROOT / "README.md").read_text()
    absent = [n for n in classes if f"`{n}`" not in readme]
    assert not absent, f"README.md's list of errors leaves out {absent}"


def test_docstrings_have_no_sphinx_roles():
    """mkdocstrings shows Sphinx roles as text; links are ``[X][clipdrop_widgets.X]``."""
    role = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj):`")
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in sorted((ROOT / "clipdrop_widgets").rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if role.search(line)]
    assert not found, f"Sphinx roles (write [`Name`][clipdrop_widgets.Name]): {found}"
