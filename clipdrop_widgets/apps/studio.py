"""Studio: the five apps in tabs, one client, one history, credits, source and an API key box."""

from __future__ import annotations

import html

import ipywidgets as widgets
from PIL import Image

from ..api import constants as C
from ..api.client import Client
from ..api.result import Result
from ..widgets import HistoryStrip
from ..widgets.snapshot import Snapshot
from ._base import UI_LOCK, App
from ._keybox import KeyBox
from .cleanup import CleanupApp
from .replace_background import ReplaceBackgroundApp
from .sketch_to_image import SketchToImageApp
from .text_inpainting import TextInpaintingApp
from .text_to_image import TextToImageApp

__all__ = ["Studio"]

#: The apps, in tab order.
APP_CLASSES: tuple[type[App], ...] = (TextToImageApp, SketchToImageApp, CleanupApp,
                                      TextInpaintingApp, ReplaceBackgroundApp)


class Studio(Snapshot, widgets.VBox):
    """The five apps in tabs sharing one client and one history strip.

    Above the tabs: a source badge (local engine or ClipDrop service), the credits (remaining,
    and spent this session, updated after each run) and an API key box. A key typed there goes
    to the client and the field is emptied at once, so it never lands in saved widget state;
    on the local engine it switches the Studio to the service (see :meth:`set_api_key`).
    Choosing a result in the history shows it in its app's tab.

    Args:
        client: the :class:`~clipdrop_widgets.Client` all apps share (default ``Client()``:
            the local engine without a key).

    Attributes:
        apps: the apps by endpoint name (``studio.apps["cleanup"]``), in tab order.
        tabs: the ``ipywidgets.Tab`` holding them.
        history: the shared :class:`~clipdrop_widgets.HistoryStrip`.
    """

    def __init__(self, client: Client | None = None) -> None:
        super().__init__()
        self._client = client if client is not None else Client()
        self._spent_before = 0.0  # by clients this Studio used before the current one
        self.history = HistoryStrip()
        self.apps: dict[str, App] = {
            cls.endpoint_name: cls(self._client, history=self.history) for cls in APP_CLASSES
        }
        self.tabs = widgets.Tab(children=list(self.apps.values()),
                                titles=[app.endpoint.title for app in self.apps.values()])
        self._badge = widgets.HTML("")
        self._credits = widgets.HTML("")
        self._badge_text = self._credits_text = ""
        self.key_box = KeyBox(self.set_api_key)
        for app in self.apps.values():
            app.on_finish(lambda _app: self._show_credits())
        self.history.on_select(self._select_tab)
        self._show_source()
        self._show_credits()
        header = widgets.HBox(
            [self._badge, self._credits, self.key_box],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center",
                                  justify_content="space-between", width="100%"),
        )
        self.children = [header, self.tabs, widgets.HTML("<b>History</b>"), self.history]

    # -- the client ---------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        """The client every app uses."""
        return self._client

    def set_api_key(self, api_key: str) -> None:
        """Use ``api_key`` from now on (what the key box does).

        On the local engine this switches every app to a copy of the client
        (:meth:`Client.copy`) for the ClipDrop service (``$CLIPDROP_API_URL`` or the default
        address), keeping every other setting; otherwise the key goes into the current
        client. Runs in flight finish with the client they started with.
        """
        if not api_key:
            raise ValueError("the key is empty")
        old = self._client
        if old.is_local:
            new = old.copy(api_key=api_key, base_url=None)  # the service, as configured
            with UI_LOCK:
                self._spent_before += old.credits_spent
                self._client = new
                for app in self.apps.values():
                    app.client = new
        else:
            old.set_api_key(api_key)
        self._show_source()
        self._show_credits()

    # -- what the header says -----------------------------------------------------------------
    @property
    def source_text(self) -> str:
        """The source badge as plain text."""
        return self._badge_text

    @property
    def credits_text(self) -> str:
        """The credits display as plain text."""
        return self._credits_text

    @property
    def credits_spent(self) -> float:
        """Credits spent this session, by every client this Studio used."""
        return self._spent_before + self._client.credits_spent

    def _show_source(self) -> None:
        client = self._client
        if client.is_local:
            text, color = "Local engine: offline previews", "#8a6d00"
        else:
            where = "" if client.base_url == C.DEFAULT_BASE_URL else f" at {client.base_url}"
            text, color = f"ClipDrop service{where}", "#1b7a2f"
        if not client.is_local and not client.has_key:
            text += " (no API key yet)"
        with UI_LOCK:
            self._badge_text = text
            self._badge.value = (f'<span style="border:1px solid {color};color:{color};'
                                 f'border-radius:10px;padding:2px 8px">{html.escape(text)}</span>')

    def _show_credits(self) -> None:
        remaining = self._client.remaining_credits
        left = "? left (known after a run)" if remaining is None else f"{remaining:g} left"
        text = f"Credits: {left} · {self.credits_spent:g} spent this session"
        with UI_LOCK:
            self._credits_text = text
            self._credits.value = f"<span>{html.escape(text)}</span>"

    # -- tabs ---------------------------------------------------------------------------------
    @property
    def current(self) -> App:
        """The app in the selected tab."""
        return list(self.apps.values())[self.tabs.selected_index or 0]

    def select(self, name: str) -> App:
        """Show the tab of the app for endpoint ``name`` (``"cleanup"``...); returns the app."""
        names = list(self.apps)
        if name not in names:
            raise KeyError(f"no app {name!r}; the Studio has {', '.join(names)}")
        self.tabs.selected_index = names.index(name)
        return self.apps[name]

    def _select_tab(self, result: Result) -> None:
        if result.endpoint in self.apps:
            self.select(result.endpoint)

    # -- display ------------------------------------------------------------------------------
    def _snapshot(self) -> Image.Image:
        return self.current._snapshot()

    def __repr__(self) -> str:
        n = len(self.history.results)
        return (f"Studio(source={self._client.source!r}, tab={self.current.endpoint.title!r}, "
                f"{n} result{'' if n == 1 else 's'})")
