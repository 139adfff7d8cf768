"""Restore settings: a picture carrying its record brings back how it was made.

Users of comparable tools drop a generated picture back in to get its settings again. A
picture this package wrote carries its record (`read_record`); when one is uploaded or dropped
on a photo in the Studio, `RestoreOffer` shows a line saying what made it and a
**Restore settings** button. `restore_settings` then selects the app of the record's
operation, puts its prompt and options back, and, where the photo it was made from is in the
session folder (``inputs/<sha256>.*``), loads that photo too.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..contract.endpoints import ENDPOINTS
from ..contract.errors import NotFoundError
from ..widgets._ui import Layout

if TYPE_CHECKING:  # pragma: no cover
    from ._base import App
    from .studio import Studio

__all__ = ["RestoreOffer", "restore_settings"]

#: Input fields whose picture is the app's photo (a mask is never restored: it is painted).
_PHOTO_FIELDS = ("image_file",)


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

    def offer(self, record: Mapping[str, Any] | None) -> None:
        """Offer ``record`` (a picture's `read_record`), or hide the line with ``None``."""
        self.record = record
        if record is None or record.get("operation") not in ENDPOINTS:
            self.record = None
            self.layout.display = "none"
            return
        title = ENDPOINTS[record["operation"]].title
        prompt = record.get("prompt")
        said = f" from “{prompt}”" if prompt else ""
        button = self.button
        self._note.value = (f"<small>This picture says how it was made: {html.escape(title)}"
                            f"{html.escape(said)}.</small>")
        button.disabled = False
        self.layout.display = ""

    def restore(self) -> str:
        """Restore the offered record's settings; returns the words saying what came back."""
        if self.record is None:
            raise NotFoundError("no picture with a record was dropped or uploaded")
        words = self._restore(self.record)
        button = self.button
        self._note.value = f"<small>{html.escape(words)}</small>"
        button.disabled = True
        return words


def _photo_file(session_dir: Path | None, record: Mapping[str, Any]) -> Path | None:
    """The session's copy of the photo ``record`` was made from, if it is there."""
    if session_dir is None:
        return None
    for name in _PHOTO_FIELDS:
        sha = (record.get("inputs") or {}).get(name, {}).get("sha256")
        if isinstance(sha, str) and sha.isalnum():
            found = sorted((session_dir / "inputs").glob(f"{sha}.*"))
            if found:
                return found[0]
    return None


def restore_settings(studio: Studio, record: Mapping[str, Any]) -> str:
    """Select the app of ``record``'s operation in ``studio`` and put back its prompt, its
    options (those the app has a control for) and, when the session holds it, its photo;
    returns the words saying what came back."""
    app: App = studio.select(record["operation"])
    done = [app.endpoint.title]
    prompt = record.get("prompt")
    if app.prompt is not None and isinstance(prompt, str):
        app.prompt.value = prompt
        done.append("prompt")
    for name, value in (record.get("options") or {}).items():
        control = getattr(app, name, None)
        choices = getattr(control, "options", None)
        if isinstance(control, widgets.ValueWidget) and choices is not None and value in [
                c[1] if isinstance(c, tuple) else c for c in choices]:
            control.value = value
            done.append(name)
    session = studio.history.session
    photo = _photo_file(session.directory if session is not None else None, record)
    chooser = getattr(app, "chooser", None)
    if photo is not None and chooser is not None:
        chooser.load(photo.read_bytes(), name=f"the photo it was made from ({photo.name[:12]})")
        done.append("photo")
    elif chooser is not None and (record.get("inputs") or {}).get("image_file"):
        done.append("(its photo is not in this session)")
    return "Restored: " + ", ".join(done)
