"""Studio: the five apps in tabs, one client, one history, credits, source and an API key box."""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Iterator, Mapping

import ipywidgets as widgets
from PIL import Image

from ..api import constants as C
from ..api.client import Client
from ..api.notices import ClipdropNotice
from ..api.result import Result
from ..api.session import new_session_dir, recent_sessions
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import (
    APIConnectionError,
    ConfigurationError,
    ConfigurationTypeError,
    NotFoundError,
)
from ..widgets import HistoryStrip
from ..widgets.keyboard import APP_CLASS, KeyboardShortcuts
from ..widgets.snapshot import Snapshot
from ..widgets.theme import color as theme_color
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
    on the local engine it switches the Studio to the service (see `set_api_key`).
    A typed key is "unverified" until a call with it succeeds ("verified"); a 401 or 403
    marks it "rejected". "Back to local engine" in the key box returns every app to the
    local engine (`use_local_engine`), keeping the history.
    Choosing a result in the history shows it in its app's tab.

    Results flow on: under the compare view and on every history card, "Send to" offers the
    operations that take a photo (Cleanup, Text inpainting, Replace background); the chosen
    app gets the result's picture as its photo, its tab is selected, and the result of its next
    run records where that photo came from (``result.inputs["input_from"]``, shown on its
    history card). See `send`.

    Every result is written, the moment it arrives, to the session folder named in the header
    ([`Session`][clipdrop_widgets.Session]); the header also offers the recent
    sessions to reopen. Each result has **Download** (compare view and history) and the
    history **Download all** (a zip), delivered by the browser wherever the Studio runs.
    Only the first tab's app is built at once; the others are built when first shown.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] all apps share (default ``Client()``:
            the local engine without a key; its no-key notice is shown as a note in the
            header rather than as a warning).
        session_dir: the session folder: an existing one is reopened (``studio.history``
            shows its results, new ones are appended); default: a new folder under the user
            data folder (`sessions_dir`).

    Attributes:
        apps: the apps by endpoint name (``studio.apps["cleanup"]``), in tab order; an app
            is built on first access.
        tabs: the ``ipywidgets.Tab`` holding them.
        history: the shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip].
    """

    def __init__(self, client: Client | None = None, *,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self._notes: list[str] = []
        self._client = client if client is not None else self._default_client()
        self._spent_before = 0.0  # by clients this Studio used before the current one
        # Where a typed key goes from the local engine: the service this Studio left last.
        self._service_url: str | None = None
        self._unreachable: APIConnectionError | None = None  # the last run's, if it failed so
        self.history = HistoryStrip(
            session_dir=session_dir if session_dir is not None else new_session_dir())
        self._built: dict[str, App] = {}
        self.apps: Mapping[str, App] = _LazyApps(self)
        self.tabs = widgets.Tab(children=[widgets.VBox() for _ in APP_CLASSES],
                                titles=[ENDPOINTS[cls.endpoint_name].title
                                        for cls in APP_CLASSES])
        self._badge = widgets.HTML("")
        self._credits = widgets.HTML("")
        self._badge_text = self._credits_text = ""
        self.key_box = KeyBox(self.set_api_key, on_local=self.use_local_engine)
        self.history.offer_send(send_targets(), self.send)
        self.history.on_select(self._select_tab)
        self.history.on_shown(self._catch_up)
        self._show_source()
        self._show_credits()
        # Ctrl/Cmd+Enter on the Studio's own controls (history, sessions) runs the selected
        # tab's app, never the notebook cell again (keys inside an app are that app's).
        self.add_class(APP_CLASS)
        self._keyboard = KeyboardShortcuts()
        self._keyboard.on_run(lambda: self.current.run())
        header = widgets.HBox(
            [self._badge, self._credits, self.key_box, self._keyboard],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center",
                                  justify_content="space-between", width="100%"),
        )
        self._session_line = widgets.HTML("")
        self._recent = widgets.Dropdown(description="Reopen", layout=widgets.Layout(
            width="360px"), style={"description_width": "initial"})
        self._open = widgets.Button(description="Open", icon="folder-open",
                                    layout=widgets.Layout(width="auto"),
                                    tooltip="Show that session's results; new ones go there")
        self._open.on_click(self.history.errors.guard(lambda _b: self._open_chosen()))
        self._show_session()
        sessions = widgets.HBox(
            [self._session_line, widgets.HBox([self._recent, self._open])],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center",
                                  justify_content="space-between", width="100%"))
        notes = widgets.HTML("".join(
            f'<div style="color:{theme_color("muted")}"><small>'
            f'<i class="fa fa-info-circle"></i> Note: '
            f"{html.escape(n)}</small></div>" for n in self._notes))
        self.tabs.observe(lambda _c: self._build(self.tabs.selected_index or 0),
                          "selected_index")
        self._build(0)
        self.children = [header, sessions, notes, self.tabs, widgets.HTML("<b>History</b>"),
                         self.history]

    def _default_client(self) -> Client:
        """``Client()``, its notices (no key: the local engine) kept as notes for the header."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ClipdropNotice)
            client = Client()
        for w in caught:
            if issubclass(w.category, ClipdropNotice):
                self._notes.append(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return client

    # -- the apps, built when first shown -----------------------------------------------------
    def _build(self, index: int) -> App:
        """The app of tab ``index``, built (and put in its tab) if it was not yet."""
        cls = APP_CLASSES[index]
        app = self._built.get(cls.endpoint_name)
        if app is None:
            app = cls(self._client, history=self.history)
            app.on_finish(self._on_finish)
            app.send_to.set_targets(send_targets())
            app.send_to.on_send(lambda name, app=app: self._send_shown(app, name))
            self._built[cls.endpoint_name] = app
            with UI_LOCK:
                children = list(self.tabs.children)
                placeholder, children[index] = children[index], app
                self.tabs.children = children
            placeholder.close()
        return app

    # -- the session --------------------------------------------------------------------------
    @property
    def session_dir(self) -> str:
        """The folder every result is written to."""
        assert self.history.session is not None
        return str(self.history.session.directory)

    @property
    def session_text(self) -> str:
        """The session line as plain text."""
        assert self.history.session is not None
        n = len(self.history.session)  # all of them, also those past the strip's max_items
        return f"Results are saved in {self.session_dir} ({n} result{'' if n == 1 else 's'})"

    def open_session(self, session_dir: str | os.PathLike[str]) -> None:
        """Show the results of the session in ``session_dir``; new results go there."""
        self.history.open_session(session_dir)
        self._show_session()

    def _catch_up(self) -> None:
        """A page has connected: show what the session gained meanwhile from another kernel
        (the visitor's previous page, when this kernel was started ahead of them)."""
        with UI_LOCK:
            if self.history.catch_up():
                self._show_session()

    def _open_chosen(self) -> None:
        if self._recent.value:
            self.open_session(self._recent.value)

    def _show_session(self) -> None:
        with UI_LOCK:
            self._session_line.value = (
                f"<small>{html.escape(self.session_text)}</small>")
            current = self.session_dir
            options = [(info.label, str(info.path)) for info in recent_sessions()
                       if str(info.path) != current]
            self._recent.options = options or [("no earlier sessions yet", "")]
            self._recent.value = options[0][1] if options else ""
            self._open.disabled = not options

    # -- the client ---------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        """The client every app uses."""
        return self._client

    def set_api_key(self, api_key: str) -> None:
        """Use ``api_key`` from now on (what the key box does).

        On the local engine this switches every app to a copy of the client
        (`Client.copy`) for the ClipDrop service (``$CLIPDROP_API_URL`` or the default
        address), keeping every other setting; otherwise the key goes into the current
        client. Runs in flight finish with the client they started with.
        """
        if not api_key:
            raise ConfigurationError("the key is empty")
        old = self._client
        if old.is_local:
            new = old.copy(api_key=api_key, base_url=self._service_url)
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
        self._use(old.copy(api_key="", base_url=C.LOCAL_BASE_URL, requests_per_minute=None))

    def _use(self, new: Client) -> None:
        """Give every app ``new`` and say so in the header."""
        with UI_LOCK:
            self._spent_before += self._client.credits_spent
            self._client = new
            self._unreachable = None
            for app in self._built.values():  # the others are built with the new client
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
        self._show_session()

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
            text, color = "Local engine: offline previews", theme_color("busy")
        else:
            where = "" if client.base_url == C.DEFAULT_BASE_URL else f" at {client.base_url}"
            text = f"ClipDrop service{where}"
            text += {"none": " (no API key yet)", "unverified": " · key unverified",
                     "verified": " · key verified", "rejected": " · key rejected"}[state]
            color = theme_color({"verified": "done", "rejected": "error"}.get(state, "muted"))
            if self._unreachable is not None:
                text, color = f"ClipDrop service{where} · not reachable", theme_color("error")
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
        return self._build(self.tabs.selected_index or 0)

    def select(self, name: str) -> App:
        """Show the tab of the app for endpoint ``name`` (``"cleanup"``...); returns the app."""
        names = [cls.endpoint_name for cls in APP_CLASSES]
        if name not in names:
            raise NotFoundError(f"no app {name!r}; the Studio has {', '.join(names)}")
        self.tabs.selected_index = names.index(name)
        return self._build(names.index(name))

    def send(self, result: Result, to: str) -> App:
        """Give ``result``'s picture to the app for endpoint ``to`` as its photo and show its
        tab (what "Send to" does); returns that app. An app that takes no picture refuses
        (``ValueError`` naming the ones that do)."""
        if not isinstance(result, Result):
            raise ConfigurationTypeError(
                f"Studio.send takes a Result, got {type(result).__name__} (to send the history's "
                f"result number i, use studio.history.send(i, {to!r}))")
        names = [name for name, _title in send_targets()]
        if to not in names:
            raise ConfigurationError(f"a result cannot be sent to {to!r}: send it to "
                             f"{', '.join(names)}")
        app = self.apps[to]
        app.use_result(result)
        self.select(to)
        return app

    def _send_shown(self, app: App, to: str) -> None:
        if app.result is None:
            raise ConfigurationError("there is no result to send yet: press Run first")
        self.send(app.result, to)

    def _select_tab(self, result: Result) -> None:
        if result.endpoint in self.apps:
            built = result.endpoint in self._built
            app = self.select(result.endpoint)
            if not built:  # built just now: it missed this selection
                app._on_history_select(result)

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


class _LazyApps(Mapping[str, App]):
    """``studio.apps``: the apps by endpoint name in tab order, each built on first access."""

    def __init__(self, studio: Studio) -> None:
        self._studio = studio
        self._names = [cls.endpoint_name for cls in APP_CLASSES]

    def __getitem__(self, name: str) -> App:
        if name not in self._names:
            raise NotFoundError(name)
        return self._studio._build(self._names.index(name))

    def __contains__(self, name: object) -> bool:  # without building the app
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
