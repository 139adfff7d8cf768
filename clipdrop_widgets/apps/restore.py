"""Restore settings: a picture carrying its record brings back how it was made.

Users of comparable tools drop a generated picture back in to get its settings again. A
picture this package wrote carries its record (`read_record`); when one is uploaded or dropped
on a photo in the Studio, `RestoreOffer` shows a line saying what made it and a
**Restore settings** button. `restore_settings` then selects the app of the record's
operation, puts its prompt and options back, and, where the pictures it was made from are in
the session folder (``inputs/<sha256>.*``), loads them too: the photo, the sketch, the mask
(each app's `App.restore_input`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..api.records import typed_options
from ..contract.endpoints import ENDPOINTS, FORMAT_CONTENT_TYPES, Endpoint, IntField, TextField
from ..contract.errors import InputError, NotFoundError
from ..contract.validation import check_integer, check_text
from ..widgets._ui import Layout

if TYPE_CHECKING:  # pragma: no cover
    from ._base import App
    from .studio import Studio

__all__ = ["RestoreOffer", "restore_settings", "checked_record"]

#: Input fields restored from the session folder, in this order (the photo before the mask
#: painted over it), with the word the note uses for each.
_INPUT_FIELDS = {"image_file": "photo", "sketch_file": "sketch", "mask_file": "mask"}
_SHA256 = re.compile("[0-9a-f]{64}")
#: The most characters of a prompt shown in the offer's line (the whole one is restored).
_SHOWN_CHARS = 120


def _option(ep: Endpoint, name: Any, value: Any) -> tuple[Any, str | None]:
    """``(value, None)`` for an option ``ep`` takes, as its control wants it; else
    ``(None, why)`` (``why`` is ``""`` for what is left out silently: where the input
    came from)."""
    if name == "input_from":
        return None, ""
    shown = repr(name)[:40]
    if name == "format" and ep.accept:
        if isinstance(value, str) and FORMAT_CONTENT_TYPES.get(value) in ep.accept:
            return value, None
        return None, f"format {repr(value)[:40]} is not one {ep.title} gives"
    field = next((f for f in ep.fields if f.name == name), None)
    try:
        if isinstance(field, IntField):
            return check_integer(ep, field, typed_options(ep.name, {name: value})[name]), None
        if isinstance(field, TextField) and field.choices is not None:
            check_text(ep, field, value)
            return value, None
    except InputError as err:
        return None, str(err)[:200]
    return None, f"{shown} is not an option of {ep.title}"


def checked_record(record: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """What can be restored of ``record`` (a dropped picture's, untrusted), and what was
    left out and why, one phrase each.

    ``None`` when nothing can: not a JSON object, or an operation outside the endpoint
    table. Otherwise the record with only what the endpoint table allows: a prompt that is
    text within the operation's limit, each option the operation takes within its rules
    (numbers kept as text by earlier records read as numbers; an integer field the call
    left out, such as uncrop's ``extend_right``, at the service's default), the inputs named
    by a SHA-256.
    """
    if not isinstance(record, Mapping):
        return None, ["the record is not a JSON object"]
    operation = record.get("operation")
    if not isinstance(operation, str) or operation not in ENDPOINTS:
        return None, ["its operation is not one this version knows"]
    ep = ENDPOINTS[operation]
    clean: dict[str, Any] = {"operation": operation, "prompt": None, "options": {},
                             "inputs": {}}
    left: list[str] = []
    prompt, field = record.get("prompt"), ep.prompt_field
    if prompt is not None and (field is None or not isinstance(prompt, str)):
        left.append("its prompt (not text)")
    elif isinstance(prompt, str) and field is not None and field.max_chars is not None \
            and len(prompt) > field.max_chars:
        left.append(f"its prompt ({len(prompt)} characters; {ep.title} takes at most "
                    f"{field.max_chars})")
    else:
        clean["prompt"] = prompt
    options = record.get("options")
    if options is not None and not isinstance(options, Mapping):
        left.append("its options (not a JSON object)")
    for name, value in (options.items() if isinstance(options, Mapping) else ()):
        checked, why = _option(ep, name, value)
        if why is None:
            clean["options"][name] = checked
        elif why:
            left.append(f"option {why}")
    if isinstance(options, Mapping) or options is None:  # a field not sent had its default
        for int_field in ep.int_fields:
            if int_field.default is not None and int_field.name not in (options or {}):
                clean["options"][int_field.name] = int_field.default
    inputs = record.get("inputs")
    if inputs is not None and not isinstance(inputs, Mapping):
        left.append("its inputs (not a JSON object)")
    for name, described in (inputs.items() if isinstance(inputs, Mapping) else ()):
        sha = described.get("sha256") if isinstance(described, Mapping) else None
        if isinstance(name, str) and isinstance(sha, str) and _SHA256.fullmatch(sha):
            clean["inputs"][name] = {"sha256": sha}
        else:
            left.append(f"input {repr(name)[:40]} (no SHA-256)")
    return clean, left


class RestoreOffer(widgets.HBox):
    """A line offering to restore the settings of a picture that carries a record.

    Args:
        restore: called with the record when **Restore settings** is pressed; returns the
            words saying what was restored.

    Attributes:
        record: the record offered (``None``: nothing offered, the line is hidden).
        button: the **Restore settings** button.
    """

    _note: widgets.HTML  # the line's text, built with the button

    def __init__(self, restore: Callable[[Mapping[str, Any]], str]) -> None:
        super().__init__(layout=Layout(display="none", align_items="center",
                                               flex_flow="row wrap"))
        self._restore = restore
        self.record: Mapping[str, Any] | None = None
        #: What of the offered record cannot be used, one phrase each (`checked_record`).
        self.left_out: list[str] = []
        self._button: widgets.Button | None = None  # built with the line's first offer

    @property
    def button(self) -> widgets.Button:
        """The **Restore settings** button (built, with the line's text, when first needed: a
        Studio's page does not load a hidden line's widgets at start)."""
        if self._button is None:
            self._note = widgets.HTML("")
            self._button = widgets.Button(
                description="Restore settings", icon="undo", layout=Layout(
                    width="auto"), tooltip="Bring back the app, prompt, options and photo "
                "this picture was made with")
            self._button.add_class("cdw-restore-settings")
            self._button.on_click(lambda _b: self.restore())
            self.children = [self._note, self._button]
        return self._button

    def offer(self, record: Any) -> None:
        """Offer ``record`` (a picture's `read_record`), or hide the line with ``None``.

        The record is checked first (`checked_record`): one whose operation is unknown or
        that is not a JSON object is not offered; what cannot be used of the rest (a prompt
        over the limit, an option of the wrong type) is named in the line and left out."""
        checked, left = checked_record(record) if record is not None else (None, [])
        self.record, self.left_out = checked, left
        if checked is None:
            self.layout.display = "none"
            return
        title = ENDPOINTS[checked["operation"]].title
        prompt = checked.get("prompt")
        if prompt and len(prompt) > _SHOWN_CHARS:
            prompt = prompt[:_SHOWN_CHARS] + "…"
        said = f" from “{prompt}”" if prompt else ""
        unusable = f" Not usable: {'; '.join(left)}." if left else ""
        button = self.button
        self._note.value = (f"<small>This picture says how it was made: {html.escape(title)}"
                            f"{html.escape(said)}.{html.escape(unusable)}</small>")
        button.disabled = False
        self.layout.display = ""

    def restore(self) -> str:
        """Restore the offered record's settings; returns the words saying what came back."""
        if self.record is None:
            raise NotFoundError("no picture with a record was dropped or uploaded")
        words = self._restore(self.record)
        if self.left_out:
            words += "; left out: " + "; ".join(self.left_out)
        button = self.button
        self._note.value = f"<small>{html.escape(words)}</small>"
        button.disabled = True
        return words


def _input_file(session_dir: Path | None, record: Mapping[str, Any], name: str) -> Path | None:
    """The session's copy of the input ``name`` ``record`` (checked) was made from, if kept."""
    sha = record["inputs"].get(name, {}).get("sha256")
    if session_dir is None or sha is None:
        return None
    found = sorted((session_dir / "inputs").glob(f"{sha}.*"))
    return found[0] if found else None


def restore_settings(studio: Studio, record: Mapping[str, Any]) -> str:
    """Select the app of ``record``'s operation in ``studio`` and put back its prompt, its
    options (every one the app has a control for: menus, numbers, the seed) and, when the
    session holds them, its photo, sketch and mask; returns the words saying what came back.

    ``record`` is checked first (`checked_record`): what the endpoint table does not allow
    is not restored; `NotFoundError` when nothing can be."""
    checked, _left = checked_record(record)
    if checked is None:
        raise NotFoundError("this record names no operation this version knows")
    app: App = studio.select(checked["operation"])
    done = [app.endpoint.title]
    prompt = checked["prompt"]
    if app.prompt is not None and isinstance(prompt, str):
        app.prompt.value = prompt
        done.append("prompt")
    restored = []
    for name, value in checked["options"].items():
        control = app.option_control(name)
        if control is None:
            continue
        choices = getattr(control, "options", None)
        if choices is not None and value not in [c[1] if isinstance(c, tuple) else c
                                                 for c in choices]:
            continue
        control.value = value
        restored.append(name)
    app.options_restored(restored)
    done += restored
    session = studio.history.session
    directory = session.directory if session is not None else None
    for name, word in _INPUT_FIELDS.items():
        if name not in checked["inputs"]:
            continue
        found = _input_file(directory, checked, name)
        if found is None:
            done.append(f"(its {word} is not in this session)")
        elif app.restore_input(name, found.read_bytes()):
            done.append(word)
    return "Restored: " + ", ".join(done)
