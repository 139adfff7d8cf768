"""Studio: the eleven apps in grouped tabs, one client, one history, credits, source and an API
key box."""

from __future__ import annotations

import html
import logging
import math
import os
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from PIL import Image

from ..api import constants as C
from ..api.client import Client
from ..api.hub import check_hub_seat
from ..api.notices import ClipdropNotice
from ..api.records import read_record
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
from ..widgets._ui import Layout, fixed_layout
from ..widgets.keyboard import APP_CLASS, KeyboardShortcuts
from ..widgets.snapshot import Snapshot
from ..widgets.theme import color as theme_color
from ..widgets.thumbnails import made_after
from ._base import UI_LOCK, App
from ._keybox import KeyBox
from ._reopen import remember, reopened
from .cleanup import CleanupApp
from .portrait import PortraitDepthApp, PortraitNormalsApp
from .reimagine import ReimagineApp
from .remove_background import RemoveBackgroundApp
from .replace_background import ReplaceBackgroundApp
from .restore import RestoreOffer, restore_settings
from .sketch_to_image import SketchToImageApp
from .text_inpainting import TextInpaintingApp
from .text_to_image import TextToImageApp
from .uncrop import UncropApp
from .upscale import UpscaleApp

_log = logging.getLogger(__name__)

__all__ = ["Studio"]

#: The tabs: an app, or a group title and the apps of its inner tabs. The five first
#: operations keep a tab each; the six later ones are grouped, so the bar holds eight.
TAB_LAYOUT: tuple[type[App] | tuple[str, tuple[type[App], ...]], ...] = (
    TextToImageApp, SketchToImageApp, CleanupApp, TextInpaintingApp, ReplaceBackgroundApp,
    ("Cut-out & frame", (RemoveBackgroundApp, UncropApp)),
    ("Size & variations", (UpscaleApp, ReimagineApp)),
    ("Portrait", (PortraitDepthApp, PortraitNormalsApp)),
)
#: The apps, in tab order (groups flattened).
APP_CLASSES: tuple[type[App], ...] = tuple(
    cls for entry in TAB_LAYOUT for cls in (entry[1] if isinstance(entry, tuple) else (entry,)))
#: App index -> (tab index, inner tab index or ``None``).
_PLACES: tuple[tuple[int, int | None], ...] = tuple(
    place for tab, entry in enumerate(TAB_LAYOUT)
    for place in ([(tab, i) for i in range(len(entry[1]))] if isinstance(entry, tuple)
                  else [(tab, None)]))


def send_targets() -> list[tuple[str, str]]:
    """The ``(name, title)`` of every app a result can be sent to, in tab order."""
    return [(cls.endpoint_name, ENDPOINTS[cls.endpoint_name].title) for cls in APP_CLASSES
            if cls.takes_picture]


class Studio(Snapshot, widgets.VBox):
    """The eleven apps in tabs sharing one client and one history strip; the six later
    operations are grouped in three tabs (Cut-out & frame, Size & variations, Portrait), each
    holding its apps' own tabs, so the bar stays eight tabs wide.

    Above the tabs: a source badge (local engine or ClipDrop service), the credits (remaining,
    and spent this session, redrawn with each run's status line and from the same number, the
    client's balance) and an API key box. A key typed there goes
    to the client and the field is emptied at once, so it never lands in saved widget state;
    on the local engine it switches the Studio to the service (see `set_api_key`).
    A typed key is "unverified" until a call with it succeeds ("verified"); a 401 or 403
    marks it "rejected". "Back to local engine" in the key box returns every app to the
    local engine (`use_local_engine`), keeping the history.
    Choosing a result in the history shows it in its app's tab.

    Results flow on: under the compare view and on every history card, "Send to" offers the
    operations that take a photo (all but Text to image and Sketch to image); the chosen
    app gets the result's picture as its photo, its tab is selected, and the result of its next
    run records where that photo came from (``result.inputs["input_from"]``, shown on its
    history card). See `send`.

    Every result is written, the moment it arrives, to the session folder named in the header
    ([`Session`][clipdrop_widgets.Session]); the header also offers the recent
    sessions to reopen. Each result has **Download** (compare view and history) and the
    history **Download all** (a zip), delivered by the browser wherever the Studio runs.
    Only the first tab's app is built at once; the others are built when first shown (until
    it arrives, a tab says "Loading <app>…").

    Args:
        client: the [`Client`][clipdrop_widgets.Client] all apps share (default ``Client()``:
            the local engine without a key; its no-key notice is shown as a note in the
            header rather than as a warning).
        session_dir: the session folder: an existing one is reopened (``studio.history``
            shows its results, new ones are appended); default: a new folder under the user
            data folder (`sessions_dir`). When a page of a Studio made with this folder
            reopened another session from the header and this folder is still empty, that
            session is shown instead (a reload keeps the person's choice).

    Attributes:
        apps: the apps by endpoint name (``studio.apps["cleanup"]``), in tab order; an app
            is built on first access.
        tabs: the ``ipywidgets.Tab`` holding them.
        history: the shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip].
        restore: the "Restore settings" line, shown when an uploaded or dropped photo
            carries a record ([`read_record`][clipdrop_widgets.read_record]): its app,
            prompt, options and, when the session holds it, its photo come back.
    """

    def __init__(self, client: Client | None = None, *,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        with made_after():  # the whole page first, then a reopened page's thumbnails
            self._build_studio(client, session_dir)

    def _build_studio(self, client: Client | None,
                      session_dir: str | os.PathLike[str] | None) -> None:
        super().__init__(layout=Layout())
        self._notes: list[str] = []
        self._client = client if client is not None else self._default_client()
        self._spent_before = 0.0  # by clients this Studio used before the current one
        # This session's spending: what its log records from before it was opened here, plus
        # what the clients spent since (the total of _spent_before + client's at the opening;
        # for the session given here, 0: all the client spent counts, as it always did).
        self._session_spent = self._spent_mark = 0.0
        # Where a typed key goes from the local engine: the service this Studio left last.
        self._service_url: str | None = None
        self._unreachable: APIConnectionError | None = None  # the last run's, if it failed so
        # A JupyterHub seat (api.hub): its balance read now, or the gateway's refusal.
        self._hub_problem = check_hub_seat(self._client)
        # A page of this launch may have reopened another session before a reload (_reopen).
        self._launch = session_dir
        self._elsewhere = 0  # runs in flight in this session from other pages' kernels
        self._watcher: threading.Thread | None = None
        shown = (reopened(session_dir) if session_dir is not None else None) or session_dir
        self.history = HistoryStrip(session_dir=shown if shown is not None else new_session_dir())
        self._mark_session_spending()
        self._spent_mark = 0.0
        self._built: dict[str, App] = {}
        self.apps: Mapping[str, App] = _LazyApps(self)
        # Every app's tab starts as an empty placeholder (one layout for all of them), the app
        # built when first shown (`_build`): the page's first view loads the state of what it
        # shows, not of eleven apps (issue 22). A group's inner tab bar is there from the start.
        # Until its app arrives (about 2 s on a first click, more on a busy machine) a tab's
        # placeholder says "Loading <app>…" (`LOADING_CSS`: page CSS, no widget models).
        placeholders = Layout()
        self.tabs = widgets.Tab(children=[_tab(entry, placeholders) for entry in TAB_LAYOUT],
                                titles=[_title(entry) for entry in TAB_LAYOUT], layout=Layout())
        self._badge = widgets.HTML("", layout=fixed_layout())
        self._credits = widgets.HTML("", layout=fixed_layout())
        self._badge_text = self._credits_text = ""
        # The default client's notices (no key: the local engine), shown while it is used.
        self._notes_box = widgets.HTML("", layout=Layout())
        self.key_box = KeyBox(self.set_api_key, on_local=self.use_local_engine)
        self.history.offer_send(send_targets(), self._send_from_page)
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
            layout=Layout(flex_flow="row wrap", align_items="center",
                                  justify_content="space-between", width="100%"),
        )
        self._session_line = widgets.HTML("", layout=fixed_layout())
        self._recent = widgets.Dropdown(description="Reopen",
                                        tooltip="An earlier session of this machine's to reopen",
                                        layout=Layout(
            width="360px"), style={"description_width": "initial"})
        self._open = widgets.Button(description="Open", icon="folder-open",
                                    layout=Layout(width="auto"),
                                    tooltip="Show that session's results; new ones go there")
        self._open.on_click(self.history.errors.guard(lambda _b: self._open_chosen()))
        self._show_session()
        sessions = widgets.HBox(
            [self._session_line, widgets.HBox([self._recent, self._open], layout=fixed_layout())],
            layout=Layout(flex_flow="row wrap", align_items="center",
                                  justify_content="space-between", width="100%"))
        notes = self._notes_box
        notes.value = "".join(
            f'<div style="color:{theme_color("muted")}"><small>'
            f'<i class="fa fa-info-circle"></i> Note: '
            f"{html.escape(n)}</small></div>" for n in self._notes)
        self.tabs.observe(lambda _c: self._build(self._shown_index()), "selected_index")
        for inner in self.tabs.children:
            if isinstance(inner, widgets.Tab):
                inner.observe(lambda _c: self._build(self._shown_index()), "selected_index")
        # a dropped or uploaded picture that carries its record offers its settings back
        self.restore = RestoreOffer(lambda record: restore_settings(self, record))
        self._build(0)
        history = widgets.HTML(f"{LOADING_CSS}<b>History</b>", layout=fixed_layout())
        self.children = [header, sessions, notes, self.restore, self.tabs, history, self.history]

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
            app.on_credits(self._show_credits)  # with the app's status line, same number
            app.send_to.set_targets(send_targets())
            app.send_to.on_send(lambda name, app=app: self._send_shown(app, name))
            chooser = getattr(app, "chooser", None)
            if chooser is not None:
                chooser.on_change(lambda _image, chooser=chooser: self._offer_restore(chooser))
            self._built[cls.endpoint_name] = app
            # The app goes *into* its tab's placeholder: the tab bars' children never change,
            # so the page never re-renders a bar. Replacing a tab's child re-rendered it, which
            # put the selection back on the tab being built after the user had clicked another
            # one (their click lost) and dropped the keyboard focus to the page (findings 22c
            # F1). The selection is never touched here.
            with UI_LOCK:
                self._slot(index).children = (app,)
        return app

    def _slot(self, index: int) -> widgets.Box:
        """The box that tab ``index``'s app lives in (a tab's, or a group's inner tab's child)."""
        tab, inner = _PLACES[index]
        child = self.tabs.children[tab]
        return child.children[inner] if inner is not None else child

    def _shown_index(self) -> int:
        """The index (in `APP_CLASSES`) of the app the selected tabs show."""
        tab = self.tabs.selected_index or 0
        child = self.tabs.children[tab]
        inner = (child.selected_index or 0) if isinstance(child, widgets.Tab) else None
        return _PLACES.index((tab, inner))

    def _offer_restore(self, chooser: Any) -> None:
        """A photo was chosen: offer its record's settings when it carries one (an upload or
        a drop; a sample or a sent result carries none)."""
        data = chooser.data
        self.restore.offer(read_record(data) if isinstance(data, bytes) else None)

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
        n = self.history.session_size  # all of them, also those on other pages
        text = f"Results are saved in {self.session_dir} ({n} result{'' if n == 1 else 's'})"
        if self._elsewhere:  # a page left during a Run: its kernel finishes it (page22b #1)
            runs = "1 run" if self._elsewhere == 1 else f"{self._elsewhere} runs"
            text += (f"; {runs} from another page of this session still in flight: "
                     "its result goes to this session, no need to run it again")
        return text

    def open_session(self, session_dir: str | os.PathLike[str]) -> None:
        """Show the results of the session in ``session_dir``; new results go there."""
        self.history.open_session(session_dir)
        if self._launch is not None:  # the next page of this launch opens it too
            remember(self._launch, session_dir)
        self._mark_session_spending()
        self._show_session()
        self._show_credits()

    def _mark_session_spending(self) -> None:
        """The session just opened: what its log says was spent in it before."""
        assert self.history.session is not None
        records = self.history.session_records  # as just read: the log is not read twice
        self._session_spent = float(sum(r.get("credits") or 0 for r in records))
        self._spent_mark = self._spent_total()
        self._resume_balance(records)

    def _resume_balance(self, records: Sequence[Mapping[str, Any]]) -> None:
        """The local engine's practice balance goes on from the session's last one: every
        page of a Studio has its own kernel and engine, which started at a fresh 1000 while
        "N spent this session" counted the whole session (walk 22b #10). A service's balance
        is the service's: unknown until its first answer here."""
        client = self._client
        engine = getattr(client, "engine", None)
        if not client.is_local or engine is None or not getattr(engine, "practice", False):
            return
        for record in reversed(records):  # oldest first: the last one the engine reported
            left = record.get("remaining_credits")
            if (record.get("source") == client.source and not record.get("from_cache")
                    and isinstance(left, (int, float)) and not isinstance(left, bool)
                    and math.isfinite(left) and left >= 0):
                engine.resume_credits(float(left))
                client.remaining_credits, client.balance_doubt = engine.remaining_credits, None
                return

    def _catch_up(self) -> None:
        """A page has connected: show what the session gained meanwhile from another kernel
        (the visitor's previous page, when this kernel was started ahead of them), and from
        then on what it gains while shown (`_watch_session`)."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=_watch_session, args=(weakref.ref(self),),
                                             name="studio-session-watch", daemon=True)
            self._watcher.start()
        with UI_LOCK:
            chosen = reopened(self._launch) if self._launch is not None else None
            if chosen is not None and Path(self.session_dir).resolve() != chosen:
                # built ahead of the page that reopened it (Voila's preheated kernel)
                self.history.open_session(chosen)
                self._mark_session_spending()
                self._show_session()
                self._show_credits()
            elif self.history.catch_up():
                if self._spent_total() == self._spent_mark:  # nothing run here yet: the
                    self._mark_session_spending()         # session's figures are current
                    self._show_credits()
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
                # An answer cut short after the request went out proves the service was
                # reached (it may have charged): the status line says so, not the badge.
                self._unreachable = (error if isinstance(error, APIConnectionError)
                                     and not error.sent else None)
        self._show_source()  # the credits were shown with the app's status (on_credits)
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
        """Credits spent in this session: those its log records from before it was opened (a
        reopened session), plus those every client this Studio used has spent since (for the
        session the Studio was made with: all its clients have spent)."""
        return self._session_spent + self._spent_total() - self._spent_mark

    def _spent_total(self) -> float:
        """Credits spent by every client this Studio used, since it was made."""
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
            # "No API key: using the local engine" is untrue once the badge names the service
            self._notes_box.layout.display = "" if client.is_local else "none"
            self._show_key(client)

    def _show_key(self, client: Client) -> None:
        """The line beside the key field: what is known of the key, and what to do next."""
        saved = "kept in memory only, never saved"
        if client.hub_user is not None and not client.is_local:
            problem = None if client.key_state == "verified" else self._hub_problem
            if problem is None and client.key_state == "rejected":
                problem = "the gateway refused this hub token (is your server restarted?)"
            self.key_box.show_seat(client.hub_user, client.remaining_credits, problem=problem)
            return
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
        if remaining is not None:
            left = f"{remaining:g} left"
        elif self._client.balance_doubt is not None:  # the last figure could not be right
            left = "balance unknown"
        else:
            left = "? left (known after a run)"
        text = f"Credits: {left} · {self.credits_spent:g} spent this session"
        with UI_LOCK:
            self._credits_text = text
            self._credits.value = f"<span>{html.escape(text)}</span>"

    # -- tabs ---------------------------------------------------------------------------------
    @property
    def current(self) -> App:
        """The app in the selected tab."""
        return self._build(self._shown_index())

    def select(self, name: str) -> App:
        """Show the tab of the app for endpoint ``name`` (``"cleanup"``...); returns the app."""
        names = [cls.endpoint_name for cls in APP_CLASSES]
        if name not in names:
            raise NotFoundError(f"no app {name!r}; the Studio has {', '.join(names)}")
        tab, inner = _PLACES[names.index(name)]
        if inner is not None:
            self.tabs.children[tab].selected_index = inner
        self.tabs.selected_index = tab
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
        self._send_from_page(app.result, to)

    def _send_from_page(self, result: Result, to: str) -> None:
        """A "Send to" button: send, and the keyboard focus follows to the receiving app's
        stage (the button's tab is left; the focus would drop to the page)."""
        self.send(result, to)._focus_stage()

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


def _loading_class(cls: type[App]) -> str:
    """The CSS class of the placeholder of ``cls``'s tab (`LOADING_CSS`)."""
    return f"cdw-loading-{cls.endpoint_name.replace('_', '-')}"


def _placeholder(cls: type[App], layout: widgets.Layout) -> widgets.VBox:
    """An app's tab before the app is built: empty, saying "Loading <app>…" (`LOADING_CSS`)."""
    box = widgets.VBox(layout=layout)
    box.add_class(_loading_class(cls))
    return box


#: The words in a tab whose app is not there yet: an empty panel for about 2 s after a first
#: click, History right under the tab bar, looked broken (findings walk 22, 15). Page CSS on
#: each placeholder's class while it is empty, so the page's first load gets no more widget
#: models (issue 22); the words go as the app arrives.
LOADING_CSS = "<style>" + "".join(
    f'.{_loading_class(cls)}:empty::before{{content:"Loading '
    f'{ENDPOINTS[cls.endpoint_name].title}\\2026"}}' for cls in APP_CLASSES) + (
    f"[class*='cdw-loading-']:empty{{min-height:160px;padding:12px 4px;"
    f"color:{theme_color('muted')};font-style:italic}}</style>")


def _tab(entry: type[App] | tuple[str, tuple[type[App], ...]],
         placeholders: widgets.Layout) -> widgets.Widget:
    """A tab's first content: a placeholder for an app, an inner tab bar for a group."""
    if isinstance(entry, tuple):
        return widgets.Tab(children=[_placeholder(cls, placeholders) for cls in entry[1]],
                           titles=[ENDPOINTS[cls.endpoint_name].title for cls in entry[1]],
                           layout=Layout())
    return _placeholder(entry, placeholders)


def _title(entry: type[App] | tuple[str, tuple[type[App], ...]]) -> str:
    return entry[0] if isinstance(entry, tuple) else ENDPOINTS[entry.endpoint_name].title


#: Seconds between two looks at the session folder while a Studio is shown (`_watch_session`).
WATCH_SECONDS = 2.0


def _watch_session(ref: weakref.ReferenceType[Studio]) -> None:
    """While the Studio ``ref`` lives (a page has shown it): every `WATCH_SECONDS`, a look at
    its session folder (`_look`). Stops when the Studio is gone or closed; holds it only
    during a look."""
    last: list[tuple[str, int]] = []
    while True:
        time.sleep(WATCH_SECONDS)
        studio = ref()
        if studio is None or studio.comm is None:  # garbage, or closed
            return
        _look(studio, last)
        del studio


def _look(studio: Studio, last: list[tuple[str, int]]) -> None:
    """What other pages of the Studio's session have in flight (their markers) and whether
    its log grew (a result another kernel wrote: the page the user left during a Run,
    page22b #1). A grown log is caught up when nothing was added here
    (`HistoryStrip.catch_up`); the session line says what is still to come."""
    session = studio.history.session
    if session is None:
        return
    try:
        size = session.log_path.stat().st_size
    except OSError:
        size = -1
    elsewhere = session.running_elsewhere()
    seen = (str(session.directory), size)
    grew = bool(last) and last[0][0] == seen[0] and size != last[0][1]
    last[:] = [seen]
    if not grew and elsewhere == studio._elsewhere:
        return
    try:
        with UI_LOCK:
            studio._elsewhere = elsewhere
            caught = grew and studio.history.catch_up()
            if caught and studio._spent_total() == studio._spent_mark:  # none run here
                studio._mark_session_spending()
                studio._show_credits()
            studio._show_session()
    except Exception:  # noqa: BLE001 - a look at the folder must never break the page
        _log.debug("watching the session folder failed", exc_info=True)
