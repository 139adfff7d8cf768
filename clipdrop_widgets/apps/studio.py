"""Studio: the five apps in tabs, one client, one history, credits, source and an API key box."""

from __future__ import annotations

import html

import ipywidgets as widgets
from PIL import Image

from ..api import constants as C
from ..api.client import Client
from ..api.result import Result
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import APIConnectionError
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


def send_targets() -> list[tuple[str, str]]:
    """The ``(name, title)`` of every app a result can be sent to, in tab order."""
    return [(cls.endpoint_name, ENDPOINTS[cls.endpoint_name].title) for cls in APP_CLASSES
            if cls.takes_picture]


class Studio(Snapshot, widgets.VBox):
    """The five apps in tabs sharing one client and one history strip.

    Above the tabs: a source badge (local engine or ClipDrop service), the credits (remaining,
    and spent this session, updated after each run) and an API key box. A key typed there goes
    to the client and the field is emptied at once, so it never lands in saved widget state;
    on the local engine it switches the Studio to the service (see :meth:`set_api_key`).
    A typed key is "unverified" until a call with it succeeds ("verified"); a 401 or 403
    marks it "rejected". "Back to local engine" in the key box returns every app to the
    local engine (:meth:`use_local_engine`), keeping the history.
    Choosing a result in the history shows it in its app's tab.

    Results flow on: under the compare view and on every history card, "Send to" offers the
    operations that take a photo (Cleanup, Text inpainting, Replace background); the chosen
    app gets the result's picture as its photo, its tab is selected, and the result of its next
    run records where that photo came from (``result.inputs["input_from"]``, shown on its
    history card). See :meth:`send`.

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
        # Where a typed key goes from the local engine: the service this Studio left last.
        self._service_url: str | None = None
        self._unreachable: APIConnectionError | None = None  # the last run's, if it failed so
        self.history = HistoryStrip()
        self.apps: dict[str, App] = {
            cls.endpoint_name: cls(self._client, history=self.history) for cls in APP_CLASSES
        }
        self.tabs = widgets.Tab(children=list(self.apps.values()),
                                titles=[app.endpoint.title for app in self.apps.values()])
        self._badge = widgets.HTML("")
        self._credits = widgets.HTML("")
        self._badge_text = self._credits_text = ""
        self.key_box = KeyBox(self.set_api_key, on_local=self.use_local_engine)
        targets = send_targets()
        for app in self.apps.values():
            app.on_finish(self._on_finish)
            app.send_to.set_targets(targets)
            app.send_to.on_send(lambda name, app=app: self._send_shown(app, name))
        self.history.offer_send(targets, self.send)
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

        On the local engine this switches every app to a new ``Client(api_key)`` for the
        ClipDrop service (``$CLIPDROP_API_URL`` or the default address), keeping the timeout,
        retries, rate, budget and cache folder; otherwise the key goes into the current
        client. Runs in flight finish with the client they started with.
        """
        if not api_key:
            raise ValueError("the key is empty")
        old = self._client
        if old.is_local:
            new = Client(api_key, base_url=self._service_url, timeout=old.timeout,
                         max_retries=old.max_retries, requests_per_minute=old.requests_per_minute,
                         budget=old.budget,
                         cache=old.cache.directory if old.cache is not None else None)
            self._use(new)
        else:
            old.set_api_key(api_key)
            self._unreachable = None
            self._show_source()
            self._show_credits()

    def use_local_engine(self) -> None:
        """Switch every app back to the local engine (what "Back to local engine" does).

        The history, every app's inputs and the results shown stay; the credits spent so far
        stay counted. The service client is dropped (a key typed later goes to the same
        service again); runs in flight finish with the client they started with.
        """
        old = self._client
        if old.is_local:
            return
        self._service_url = old.base_url
        self._use(Client("", base_url=C.LOCAL_BASE_URL, timeout=old.timeout,
                         max_retries=old.max_retries, budget=old.budget,
                         cache=old.cache.directory if old.cache is not None else None))

    def _use(self, new: Client) -> None:
        """Give every app ``new`` and say so in the header."""
        with UI_LOCK:
            self._spent_before += self._client.credits_spent
            self._client = new
            self._unreachable = None
            for app in self.apps.values():
                app.client = new
        self._show_source()
        self._show_credits()

    def _on_finish(self, app: App) -> None:
        """After each run (worker thread): what the run proved about the key and the credits."""
        with UI_LOCK:
            if app.client is self._client:
                error = app.error
                self._unreachable = error if isinstance(error, APIConnectionError) else None
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

    @property
    def key_text(self) -> str:
        """What the key box says of the key (plain text)."""
        return self.key_box.state

    def _show_source(self) -> None:
        client = self._client
        state = client.key_state
        if client.is_local:
            text, color = "Local engine: offline previews", "#8a6d00"
        else:
            where = "" if client.base_url == C.DEFAULT_BASE_URL else f" at {client.base_url}"
            text = f"ClipDrop service{where}"
            text += {"none": " (no API key yet)", "unverified": " · key unverified",
                     "verified": " · key verified", "rejected": " · key rejected"}[state]
            color = {"verified": "#1b7a2f", "rejected": "#b00020"}.get(state, "#555555")
            if self._unreachable is not None:
                text, color = f"ClipDrop service{where} · not reachable", "#b00020"
        with UI_LOCK:
            self._badge_text = text
            self._badge.value = (f'<span style="border:1px solid {color};color:{color};'
                                 f'border-radius:10px;padding:2px 8px">{html.escape(text)}</span>')
            self.key_box.offer_local(not client.is_local)
            self._show_key(client)

    def _show_key(self, client: Client) -> None:
        """The line beside the key field: what is known of the key, and what to do next."""
        saved = "kept in memory only, never saved"
        if client.is_local:
            if self._service_url is not None:
                self.key_box.say("Back on the local engine: offline previews; the history "
                                 "is kept. Paste a key to use the service again.")
            return
        state = client.key_state
        if self._unreachable is not None:
            self.key_box.say("The service could not be reached, so the key is not checked "
                             "yet (see the app's status line). Try again, or go back to the "
                             "local engine.", warn=True)
        elif state == "rejected":
            self.key_box.say("The service rejected this key: check it or paste another, "
                             "or go back to the local engine.", warn=True)
        elif state == "verified":
            self.key_box.say(f"Key verified by the service: {saved}.")
        elif state == "unverified":
            self.key_box.say(f"Key set, unverified until a Run succeeds: {saved}.")
        else:
            self.key_box.say("No API key yet: paste one, or go back to the local engine.")

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

    def send(self, result: Result, to: str) -> App:
        """Give ``result``'s picture to the app for endpoint ``to`` as its photo and show its
        tab (what "Send to" does); returns that app. An app that takes no picture refuses
        (``ValueError`` naming the ones that do)."""
        names = [name for name, _title in send_targets()]
        if to not in names:
            raise ValueError(f"a result cannot be sent to {to!r}: send it to "
                             f"{', '.join(names)}")
        app = self.apps[to]
        app.use_result(result)
        self.select(to)
        return app

    def _send_shown(self, app: App, to: str) -> None:
        if app.result is None:
            raise ValueError("there is no result to send yet: press Run first")
        self.send(app.result, to)

    def _select_tab(self, result: Result) -> None:
        if result.endpoint in self.apps:
            self.select(result.endpoint)

    # -- display ------------------------------------------------------------------------------
    def snapshot(self) -> Image.Image:
        """The selected tab's app as a still picture.

        Saved notebooks and pages without a widget front end show it.
        """
        return self.current.snapshot()

    def __repr__(self) -> str:
        n = len(self.history.results)
        return (f"Studio(source={self._client.source!r}, tab={self.current.endpoint.title!r}, "
                f"{n} result{'' if n == 1 else 's'})")
