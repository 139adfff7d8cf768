"""The items of a sweep, built and checked before anything is sent.

A sweep's items come from a list of prompts or from a template expanded over the product of
its variables (`expand_template`). The fixed inputs (image, mask, sketch, options) are
encoded once with the client's rules (`fixed_inputs`), and every distinct prompt is
checked with ``client.prepare`` (`check_items`), so a bad item costs no credit.
"""

from __future__ import annotations

import hashlib
import itertools
import numbers
import string
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..api.inputs import prepare_file
from ..api.notices import notify
from ..contract.endpoints import ENDPOINTS, Endpoint, FileField
from ..contract.errors import ConfigurationError, ConfigurationTypeError, InputError
from ..contract.validation import check_text

if TYPE_CHECKING:  # pragma: no cover
    from ..api.client import Client

__all__ = ["SweepItem", "VariableValue", "template_names", "expand_template", "prompt_items",
           "fixed_inputs", "check_items", "prompted_operations", "swept_values", "check_value",
           "refuse_items", "accepted_inputs"]

VariableValue = str | int | float


@dataclass(frozen=True)
class SweepItem:
    """One item: its position, its prompt (``None`` for an operation without one) and the
    values that made it (template variables, and the picture, options and take it was swept
    over: see `plan`)."""

    index: int
    prompt: str | None
    variables: dict[str, VariableValue] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "variables": dict(self.variables)}


# -- building the items ---------------------------------------------------------------------
def template_names(template: str) -> list[str]:
    """The ``{names}`` a template uses, in order of first use; refuses ``{}`` and ``{a.b}``."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigurationError(f"the template {template!r} is malformed: {exc}") from None
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ConfigurationError(f"the template field {{{name}}} is not a variable name; use "
                             "named fields such as {animal} (write {{ and }} for braces)")
        if name not in names:
            names.append(name)
    return names


def swept_values(name: str, values: Any, what: str = "variables") -> list[VariableValue]:
    """``values`` as a list of distinct strings or numbers; ``what`` names the argument
    (``variables`` or ``options``) in the error."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ConfigurationTypeError(f"{what}[{name!r}] must be a list of values, got "
                        f"{type(values).__name__} (write [{values!r}] for one value)")
    out = [check_value(f"{what}[{name!r}]", v) for v in values]
    if not out:
        raise ConfigurationError(f"{what}[{name!r}] is empty: a sweep needs at least one value")
    seen: set[Any] = set()
    for v in out:
        if v in seen:
            raise ConfigurationError(f"{what}[{name!r}] lists {v!r} twice")
        seen.add(v)
    return out


def check_value(where: str, value: Any) -> VariableValue:
    """A swept value as a plain ``str``, ``int`` or ``float`` (a NumPy number becomes its
    Python twin, as the Client methods take it); a bool, None, a list... is refused."""
    if isinstance(value, (bool, np_bool())) or not isinstance(value, (str, numbers.Real)):
        raise ConfigurationTypeError(f"{where} holds a {type(value).__name__}; values are "
                                     "strings or numbers")
    if isinstance(value, numbers.Integral):
        return int(value)
    return value if isinstance(value, str) else float(value)


def np_bool() -> tuple[type, ...]:
    """NumPy's bool type when NumPy is loaded (it is not a `numbers.Real`, but be sure)."""
    import sys

    np = sys.modules.get("numpy")
    return (np.bool_,) if np is not None else ()


def expand_template(template: str, variables: Mapping[str, Sequence[VariableValue]] | None
                    ) -> list[SweepItem]:
    """The items of ``template`` over the product of ``variables``.

    The order is deterministic: the product in the order ``variables`` lists its names, the
    last name varying fastest (so rows by the first, columns by the second).
    """
    variables = dict(variables or {})
    names = template_names(template)
    missing = [n for n in names if n not in variables]
    if missing:
        raise ConfigurationError(
            f"the template uses {', '.join(f'{{{n}}}' for n in missing)}, which "
                         "variables= does not give")
    unused = [n for n in variables if n not in names]
    if unused:
        raise ConfigurationError(f"variables {', '.join(unused)} do not appear in the template "
                         f"{template!r}")
    lists = {name: swept_values(name, values) for name, values in variables.items()}
    items = []
    for i, combo in enumerate(itertools.product(*lists.values())):
        values = dict(zip(lists, combo, strict=True))
        try:
            prompt = template.format_map(values)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ConfigurationError(f"the template {template!r} cannot be filled with {values}: "
                             f"{exc}") from None
        items.append(SweepItem(i, prompt, values))
    return items


def prompt_items(prompts: Sequence[str]) -> list[SweepItem]:
    if isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise ConfigurationTypeError(
            f"prompts must be a list of strings, got {type(prompts).__name__}")
    if not prompts:
        raise ConfigurationError("prompts is empty: a sweep needs at least one prompt")
    for p in prompts:
        if not isinstance(p, str):
            raise ConfigurationTypeError(f"prompts must hold strings; found a {type(p).__name__}")
    return [SweepItem(i, p) for i, p in enumerate(prompts)]


def prompted_operations() -> list[str]:
    """The operations with a prompt, the ones a sweep can vary."""
    return [name for name, ep in ENDPOINTS.items() if ep.prompt_field is not None]


def accepted_inputs(ep: Endpoint) -> list[str]:
    """The keywords a sweep's fixed or swept inputs may use: every field but the prompt, and
    ``format`` where the endpoint lets one choose it."""
    accepted = [f.keyword for f in ep.fields if f is not ep.prompt_field]
    return [*accepted, "format"] if ep.accept else accepted


def fixed_inputs(client: Client, ep: Endpoint, inputs: Mapping[str, Any],
                 swept: Collection[str] = ()) -> tuple[dict[str, bytes], dict[str, Any],
                                                       dict[str, Any]]:
    """Split ``inputs`` into encoded files and options, and describe them for the manifest.

    Files are encoded once with the client's rules (notices shown once); the sweep then sends
    the encoded bytes, which pass through unchanged. ``swept`` names the keywords the sweep
    varies (``image``, ``seed``...): they may not also be fixed, and are not missing.
    """
    accepted = accepted_inputs(ep)
    unknown = [k for k in inputs if k not in accepted]
    if unknown:
        raise ConfigurationTypeError(f"{ep.name} takes inputs {', '.join(accepted) or 'none'}; "
                        f"not {', '.join(unknown)}")
    both = [k for k in inputs if k in swept and inputs[k] is not None]
    if both:
        raise ConfigurationError(f"{', '.join(both)} is both fixed (inputs=) and swept; give "
                                 "it in one place")
    file_fields: dict[str, FileField] = {f.keyword: f for f in ep.file_fields}
    missing = [kw for kw, f in file_fields.items()
               if f.required and inputs.get(kw) is None and kw not in swept]
    if missing:
        raise ConfigurationTypeError(
            f"{ep.name} needs inputs= with {', '.join(missing)} (the fixed "
                        f"{' and '.join(missing)} of every item)"
            + (", or images= to sweep over several" if ep.image_field is not None
               and ep.image_field.keyword in missing else ""))
    files: dict[str, bytes] = {}
    options: dict[str, Any] = {}
    described: dict[str, Any] = {}
    for kw, value in inputs.items():
        if value is None:
            continue
        if kw in file_fields:
            changed: list[str] = []
            prepared = prepare_file(file_fields[kw], value, changed)
            for message in changed:  # said once here, not once per item
                notify(message)
            files[kw] = prepared.data
            described[kw] = {"sha256": hashlib.sha256(prepared.data).hexdigest(),
                             "format": prepared.facts.format,
                             "size": [prepared.facts.width, prepared.facts.height]}
        else:
            options[kw] = value
            described[kw] = value if isinstance(value, (str, int, float, bool)) else repr(value)
    return files, options, described


def check_items(client: Client, ep: Endpoint, items: Sequence[SweepItem],
                 files: Mapping[str, bytes], options: Mapping[str, Any]) -> None:
    """Check the fixed inputs once, then every distinct prompt; one InputError lists all bad
    items. (The files are encoded and the mask decoded once, not once per prompt.)"""
    prompt_field = ep.prompt_field
    assert prompt_field is not None
    texts = {k: v for k, v in options.items() if k != "format"}
    form_files = {ep.field_for_keyword(kw).name: data for kw, data in files.items()}
    # The files and options are judged once; the prompts below, each on its own.
    client.prepare(ep.name, texts, form_files, format=options.get("format"),
                   unchecked=(prompt_field.name,))
    problems: dict[str, InputError] = {}
    for prompt in dict.fromkeys(it.prompt for it in items):
        try:
            check_text(ep, prompt_field, prompt)
        except InputError as exc:
            problems[prompt] = exc
    refuse_items(ep, items, {it.index: problems[it.prompt] for it in items
                             if it.prompt in problems}, lambda it: _short(it.prompt or ""))


def refuse_items(ep: Endpoint, items: Sequence[SweepItem], problems: Mapping[int, InputError],
                 describe: Callable[[SweepItem], str]) -> None:
    """Raise one `InputError` listing the items in ``problems`` (by index; the first five,
    each with ``describe(item)`` and its rule's words); nothing when there are none."""
    bad = [it for it in items if it.index in problems]
    if not bad:
        return
    first = problems[bad[0].index]
    lines = [f"item {it.index} ({describe(it)}): {problems[it.index]}" for it in bad[:5]]
    more = f"\n  ... and {len(bad) - 5} more" if len(bad) > 5 else ""
    raise InputError(f"{len(bad)} of {len(items)} items break a rule of {ep.name}; nothing "
                     "was sent:\n  " + "\n  ".join(lines) + more,
                     field=first.field, rule=first.rule)


def _short(text: str, width: int = 40) -> str:
    return repr(text) if len(text) <= width else repr(text[: width - 1] + "…")
