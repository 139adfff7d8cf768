"""What a sweep varies, worked out and checked before anything is sent.

A sweep crosses up to four axes, the last varying fastest: its prompts (a list, or a template
over the product of its variables), its pictures (``images=``: a list, a dict
``{label: image}`` or a folder), option values (``options=``: the product of
``{"seed": [1, 2], "extend_left": [0, 256]}``, or an explicit list of dicts such as upscale's
``[{"target_width": 1024, "target_height": 768}, ...]``) and takes (``repeat=N``: N calls of
an operation that gives another picture each time, such as reimagine). Each item keeps the
values that made it in its ``variables``: the template's, ``image`` (the picture's label),
each swept option by its keyword, and ``take`` (1..N).

Every distinct call (picture and options) is checked with ``client.prepare`` and every distinct
prompt with the endpoint's text rule, so one `InputError` lists all bad items, each with the
field and the limit, before any credit is spent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.inputs import prepare_file
from ..api.notices import notify
from ..contract.endpoints import Endpoint
from ..contract.errors import ConfigurationError, ConfigurationTypeError, InputError
from ..contract.validation import check_text
from .items import (
    SweepItem,
    VariableValue,
    accepted_inputs,
    check_items,
    check_value,
    expand_template,
    fixed_inputs,
    prompt_items,
    prompted_operations,
    refuse_items,
    swept_values,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..api.client import Client

__all__ = ["Plan", "plan_sweep", "IMAGE_AXIS", "TAKE_AXIS", "image_labels"]

#: The variable holding each item's picture label (``images=``).
IMAGE_AXIS = "image"
#: The variable holding each item's take, 1..N (``repeat=N``).
TAKE_AXIS = "take"
#: The files a folder given as ``images=`` contributes (by suffix, any case).
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass
class Plan:
    """A sweep's items and what each call sends, ready to run."""

    items: list[SweepItem]
    template: str | None
    variables: dict[str, list[VariableValue]] | None
    described: dict[str, Any]
    """The fixed inputs for the manifest (files by SHA-256; ``images`` by label)."""
    call_args: dict[str, Any]
    """The fixed files (encoded) and options, by the method's keywords."""
    pictures: dict[str, bytes] = field(default_factory=dict)
    """``images=``, encoded once, by label."""
    swept: dict[str, Any] = field(default_factory=dict)
    """What varies beside the prompt: ``options`` (keywords), ``image`` (the keyword the
    pictures go to) and ``repeat``; empty for a prompt sweep."""


# -- the axes -------------------------------------------------------------------------------
def image_labels(images: Any) -> list[tuple[str, Any]]:
    """``images=`` as ``(label, image)`` pairs: a folder's pictures by file name (sorted), a
    dict's keys, a list's file names (paths) or ``image 0``, ``image 1``..."""
    if isinstance(images, (str, os.PathLike)):
        folder = Path(images)
        if not folder.is_dir():
            raise ConfigurationError(f"images={os.fspath(images)!r} is not a folder; give a "
                                     "folder, a list of images or a dict {label: image}")
        found = sorted(p for p in folder.iterdir()  # hidden files (a Mac's ._photo.jpg) skipped
                       if not p.name.startswith(".") and p.is_file()
                       and p.suffix.lower() in PICTURE_SUFFIXES)
        inside = folder.resolve()
        escaping = [p.name for p in found if not p.resolve().is_relative_to(inside)]
        if escaping:
            raise ConfigurationError(f"in the folder {os.fspath(images)!r}, "
                                     f"{', '.join(escaping)} link to files outside it; a "
                                     "sweep reads only the folder's own pictures")
        if not found:
            raise ConfigurationError(f"the folder {os.fspath(images)!r} holds no PNG, JPEG "
                                     "or WebP file")
        return [(p.name, p) for p in found]
    if isinstance(images, Mapping):
        pairs = [(str(label), image) for label, image in images.items()]
    elif isinstance(images, Sequence) and not isinstance(images, (bytes, bytearray)):
        pairs = [(_label(image, i), image) for i, image in enumerate(images)]
    else:
        raise ConfigurationTypeError(f"images must be a list, a dict {{label: image}} or a "
                                     f"folder, got {type(images).__name__} (write [image] "
                                     "for one)")
    if not pairs:
        raise ConfigurationError("images is empty: a sweep needs at least one picture")
    labels = [label for label, _ in pairs]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ConfigurationError(f"images has two pictures labelled {', '.join(twice)}; give "
                                 "a dict {label: image} with distinct labels")
    return pairs


def _label(image: Any, i: int) -> str:
    if isinstance(image, (str, os.PathLike)):
        return Path(image).name
    return f"image {i}"


def _option_combos(ep: Endpoint, options: Any) -> tuple[list[str], list[dict[str, Any]],
                                                         dict[str, list[VariableValue]]]:
    """The swept option keywords, each item's values, and each keyword's values in order."""
    accepted = [k for k in accepted_inputs(ep) if k not in {f.keyword for f in ep.file_fields}]
    if isinstance(options, Mapping):
        names = list(options)
        lists = {name: swept_values(name, options[name], "options") for name in names}
        combos = [dict(zip(names, combo, strict=True))
                  for combo in itertools.product(*lists.values())]
    elif isinstance(options, Sequence) and not isinstance(options, (str, bytes)):
        combos = [dict(c) if isinstance(c, Mapping) else _not_a_dict(c) for c in options]
        if not combos:
            raise ConfigurationError("options is empty: a sweep needs at least one value")
        names = list(combos[0])
        for i, combo in enumerate(combos):
            if list(combo) != names or not combo:
                raise ConfigurationError(f"options[{i}] sets {', '.join(combo) or 'nothing'}; "
                                         f"every dict must set {', '.join(names) or 'a value'}")
            combos[i] = {name: check_value(f"options[{i}][{name!r}]", value)
                         for name, value in combo.items()}
        seen = [json.dumps(c, sort_keys=True) for c in combos]
        if len(set(seen)) < len(seen):
            raise ConfigurationError("options lists the same values twice")
        lists = {n: list(dict.fromkeys(c[n] for c in combos)) for n in names}
    else:
        raise ConfigurationTypeError(f"options must be a dict {{keyword: [values]}} or a list "
                                     f"of dicts, got {type(options).__name__}")
    unknown = [n for n in names if n not in accepted]
    if unknown or not names:
        raise ConfigurationTypeError(f"{ep.name} has options {', '.join(accepted) or 'none'} "
                                     f"to sweep; not {', '.join(unknown) or 'none'}")
    return names, combos, lists


def _not_a_dict(value: Any) -> dict[str, Any]:
    raise ConfigurationTypeError(f"options as a list holds dicts {{keyword: value}}; found a "
                                 f"{type(value).__name__}")


def _repeat(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationTypeError(f"repeat must be a whole number, got {value!r}")
    if value < 1:
        raise ConfigurationError(f"repeat must be 1 or more, got {value}")
    return value


def _prompt_part(ep: Endpoint, prompts: Sequence[str] | None, template: str | None,
                 variables: Mapping[str, Sequence[VariableValue]] | None, other_axes: bool
                 ) -> tuple[list[SweepItem], dict[str, list[VariableValue]] | None]:
    """The prompt items (one item with no prompt for an operation without one)."""
    if ep.prompt_field is None:
        if prompts is not None or template is not None or variables is not None or \
                not other_axes:
            raise ConfigurationError(
                f"{ep.name} has no prompt, so there is no prompt to sweep; sweep its "
                "pictures (images=), its options (options=) or takes (repeat=). Operations "
                "with a prompt: " + ", ".join(prompted_operations()))
        return [SweepItem(0, None)], None
    if (prompts is None) == (template is None):
        raise ConfigurationError("give prompts= (a list) or template= (with variables=), not "
                                 + ("both" if prompts is not None else "neither"))
    if template is None and variables is not None:
        raise ConfigurationError("variables= fills a template=; with prompts= there is none")
    if template is not None:
        if not isinstance(template, str):
            raise ConfigurationTypeError(
                f"template must be a string, got {type(template).__name__}")
        items = expand_template(template, variables)
        return items, {name: list(values) for name, values in (variables or {}).items()}
    assert prompts is not None
    return prompt_items(prompts), None


# -- the plan -------------------------------------------------------------------------------
def plan_sweep(client: Client, ep: Endpoint, *, prompts: Sequence[str] | None,
               template: str | None, variables: Mapping[str, Sequence[VariableValue]] | None,
               inputs: Mapping[str, Any], images: Any, options: Any, repeat: Any) -> Plan:
    """Build a sweep's items and check every one; `InputError` lists all bad items."""
    repeat = _repeat(repeat)
    swept_any = images is not None or options is not None or repeat > 1
    base, axes = _prompt_part(ep, prompts, template, variables, swept_any)
    if not swept_any:  # a prompt sweep, as before: the fixed inputs once, then each prompt
        files, fixed, described = fixed_inputs(client, ep, inputs)
        check_items(client, ep, base, files, fixed)
        return Plan(base, template, axes, described, {**files, **fixed})
    axes = dict(axes or {})
    names, combos, option_axes = (_option_combos(ep, options) if options is not None
                                  else ([], [{}], {}))
    picture = ep.image_field.keyword if ep.image_field is not None else None
    if images is not None and picture is None:
        raise ConfigurationError(f"{ep.name} takes no picture, so images= has nothing to fill")
    swept = names + ([picture] if images is not None and picture else [])
    reserved = [*names, *([IMAGE_AXIS] if images is not None else []),
                *([TAKE_AXIS] if repeat > 1 else [])]
    clash = [n for n in reserved if n in axes]
    if clash:
        raise ConfigurationError(f"the template variable {clash[0]!r} has the name of a swept "
                                 "value; rename it")
    files, fixed, described = fixed_inputs(client, ep, inputs, swept)
    labels: list[str | None] = [None]
    pictures: dict[str, bytes] = {}
    bad_pictures: dict[str, InputError] = {}
    if images is not None:
        assert ep.image_field is not None
        pairs = image_labels(images)
        labels = [label for label, _ in pairs]
        pictures, described["images"], bad_pictures = _encode_pictures(ep, pairs)
        axes[IMAGE_AXIS] = list(labels)
    axes.update(option_axes)
    if repeat > 1:
        axes[TAKE_AXIS] = list(range(1, repeat + 1))
    items = []
    for prompt_item, label, combo in itertools.product(base, labels, combos):
        for take in range(1, repeat + 1):
            values = {**prompt_item.variables, **({IMAGE_AXIS: label} if label else {}),
                      **combo, **({TAKE_AXIS: take} if repeat > 1 else {})}
            items.append(SweepItem(len(items), prompt_item.prompt, values))
    plan = Plan(items, template, axes, described, {**files, **fixed}, pictures,
                {"options": names, "image": picture if images is not None else None,
                 "repeat": repeat})
    _check_calls(client, ep, plan, files, fixed, bad_pictures)
    return plan


def _encode_pictures(ep: Endpoint, pairs: list[tuple[str, Any]]
                     ) -> tuple[dict[str, bytes], dict[str, Any], dict[str, InputError]]:
    """Each picture encoded once with the client's rules; a bad one is noted, not raised."""
    assert ep.image_field is not None
    pictures: dict[str, bytes] = {}
    described: dict[str, Any] = {}
    bad: dict[str, InputError] = {}
    for label, image in pairs:
        changed: list[str] = []
        try:
            prepared = prepare_file(ep.image_field, image, changed)
        except InputError as exc:
            bad[label] = exc
            continue
        for message in changed:
            notify(f"{label}: {message}")
        pictures[label] = prepared.data
        described[label] = {"sha256": hashlib.sha256(prepared.data).hexdigest(),
                            "format": prepared.facts.format,
                            "size": [prepared.facts.width, prepared.facts.height]}
    return pictures, described, bad


def item_options(plan_swept: Mapping[str, Any], item: SweepItem) -> dict[str, Any]:
    """The swept options of ``item``, by keyword."""
    return {name: item.variables[name] for name in plan_swept.get("options") or ()}


def _check_calls(client: Client, ep: Endpoint, plan: Plan, files: Mapping[str, bytes],
                 fixed: Mapping[str, Any], bad_pictures: Mapping[str, InputError]) -> None:
    """Check every distinct call and prompt; refuse repeats that would pay for one picture."""
    prompt_field = ep.prompt_field
    unchecked = (prompt_field.name,) if prompt_field is not None else ()
    by_call: dict[str, InputError | None] = {}
    problems: dict[int, InputError] = {}
    by_prompt: dict[str, InputError | None] = {}
    sent_as: dict[str, str] = {}  # each distinct call's key -> what it sends, as sent
    first_of: dict[tuple[Any, ...], SweepItem] = {}  # what an item sends -> its first item
    for item in plan.items:
        label = item.variables.get(IMAGE_AXIS) if plan.swept["image"] else None
        swept = item_options(plan.swept, item)
        key = json.dumps([label, swept], sort_keys=True, default=str)
        if key not in by_call:
            by_call[key] = bad_pictures.get(label) if label is not None else None
            if by_call[key] is None:
                by_call[key], sent_as[key] = _check_call(client, ep, plan, files, fixed,
                                                         label, swept, unchecked)
        if sent_as.get(key):
            same = (item.prompt, item.variables.get(TAKE_AXIS), sent_as[key])
            if same in first_of:
                _refuse_same_call(ep, first_of[same], item, plan.swept)
            first_of[same] = item
        if prompt_field is not None and item.prompt not in by_prompt:
            try:
                check_text(ep, prompt_field, item.prompt)
                by_prompt[item.prompt] = None  # type: ignore[index]
            except InputError as exc:
                by_prompt[item.prompt] = exc  # type: ignore[index]
        problem = by_call[key] or by_prompt.get(item.prompt)  # type: ignore[arg-type]
        if problem is not None:
            problems[item.index] = problem
    refuse_items(ep, plan.items, problems, lambda it: describe_item(it, plan.swept))


def _check_call(client: Client, ep: Endpoint, plan: Plan, files: Mapping[str, bytes],
                fixed: Mapping[str, Any], label: str | None, swept: Mapping[str, Any],
                unchecked: tuple[str, ...]) -> tuple[InputError | None, str]:
    """The call's problem (or ``None``) and what it sends, as a key (empty when refused)."""
    options = {**fixed, **swept}
    texts = {k: v for k, v in options.items() if k != "format"}
    sent = dict(files)
    if label is not None:
        sent[plan.swept["image"]] = plan.pictures[label]
    form_files = {ep.field_for_keyword(kw).name: data for kw, data in sent.items()}
    try:
        call = client.prepare(ep.name, texts, form_files, format=options.get("format"),
                              unchecked=unchecked)
    except InputError as exc:
        return exc, ""
    repeat = plan.swept["repeat"]
    if repeat > 1 and ep.repeatable(texts):
        field_named = ep.repeat not in ("always", "never")
        why = (f"the same picture for the same {ep.repeat}" if field_named
               else "the same answer to the same call")
        how = (f"; leave {ep.repeat} out for new takes, or sweep it with "
               f"options={{{ep.repeat!r}: [...]}}" if field_named else "")
        raise ConfigurationError(f"{ep.name} gives {why}, so repeat={repeat} would pay "
                                 f"{repeat} times for one picture{how}")
    sent = json.dumps([sorted(call.texts.items()), call.accept,
                       {n: hashlib.sha256(p.data).hexdigest() for n, p in call.files.items()}],
                      sort_keys=True)
    return None, sent


def _refuse_same_call(ep: Endpoint, first: SweepItem, again: SweepItem,
                      swept: Mapping[str, Any]) -> None:
    """Two items that send the very same request (values equal as the service reads them,
    ``5`` and ``"5"``, ``"png"`` and ``"PNG"``; the same picture twice) would pay twice."""
    names = [IMAGE_AXIS, *(swept.get("options") or ())]
    why = [f"{first.variables[n]!r} and {again.variables[n]!r}" + (
        " are the same picture" if n == IMAGE_AXIS else f" are the same {n}")
        for n in names if n in first.variables
        and first.variables[n] != again.variables[n]]
    raise ConfigurationError(
        f"items {first.index} and {again.index} would send the same {ep.name} request "
        f"({'; '.join(why)} as the service reads them), so the sweep would pay twice for "
        "one picture; list each value and picture once")


def describe_item(item: SweepItem, swept: Mapping[str, Any]) -> str:
    """An item in words for an error: its picture, swept options, take and prompt."""
    parts = [str(item.variables[IMAGE_AXIS])] if IMAGE_AXIS in item.variables else []
    parts += [f"{name} {item.variables[name]}" for name in swept.get("options") or ()]
    if TAKE_AXIS in item.variables:
        parts.append(f"take {item.variables[TAKE_AXIS]}")
    if item.prompt is not None:
        short = item.prompt if len(item.prompt) <= 40 else item.prompt[:39] + "…"
        parts.insert(0, repr(short))
    return ", ".join(parts)
