"""Griffe extension for the API reference: show defaults as values, not as constant names.

``Client(timeout=C.DEFAULT_TIMEOUT)`` reads well in the code, where the constant lives in one
place, but a reader of the reference wants ``timeout=(10.0, 120.0)``. After the package is
loaded, every parameter whose default names a module-level constant of this package (a name
in all capitals) is shown with that constant's value instead. Listed under
``mkdocstrings.handlers.python.options.extensions`` in ``mkdocs.yml``.
"""

from __future__ import annotations

from typing import Any

import griffe

_PACKAGE = "clipdrop_widgets"


class ConstantDefaults(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name == _PACKAGE:
            _walk(pkg, pkg, set())


def _walk(pkg: griffe.Module, obj: griffe.Object, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    for member in obj.members.values():
        if member.is_alias:
            continue
        if member.is_function:
            for param in member.parameters:
                value = _constant_value(pkg, param.default)
                if value is not None:
                    param.default = value
        elif member.is_class or member.is_module:
            _walk(pkg, member, seen)


def _constant_value(pkg: griffe.Module, default: Any) -> str | None:
    """The value of the constant ``default`` names, when it is one of this package's."""
    if not isinstance(default, griffe.Expr):
        return None
    try:
        path = default.canonical_path
    except AttributeError:
        return None
    name = path.rsplit(".", 1)[-1]
    if not path.startswith(_PACKAGE + ".") or not name.isupper():
        return None
    try:
        target = pkg[path.removeprefix(_PACKAGE + ".")]
        target = target.final_target if target.is_alias else target
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    value = getattr(target, "value", None)
    return None if value is None else str(value)
