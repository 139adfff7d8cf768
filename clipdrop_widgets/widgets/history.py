"""HistoryStrip: this session's results as thumbnails; show one again, save or download them.

With a ``session_dir`` every result added is written to that session folder at once
([`Session`][clipdrop_widgets.Session]), and a reopened folder shows its results again: all of
them, a page at a time, filtered by operation and prompt words (`history_pages`). A page's
cards come up at once; the thumbnails not kept in the folder yet are made afterwards, one at a
time on a thread of their own (`thumbnails.ThumbnailMaker`), each replacing its placeholder.
"""

from __future__ import annotations

import errno
import html
import os
import time
import weakref
from collections.abc import Callable, Iterator, Sequence

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle  # not exported by ipywidgets
from PIL import Image, ImageDraw, ImageFont

from ..api.records import recorded_bytes, strip_record
from ..api.result import Result
from ..api.session import Session
from ..api.untrusted import safe_name
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError, ConfigurationTypeError, NotFoundError
from ._ui import ErrorLine, Layout, fixed_layout
from .closing import close_tree
from .download import Downloader, download_name
from .download_all import results_zip, session_zip
from .history_card import CardActions, HistoryCard, caption_html
from .history_pages import PagerBar, SessionPages
from .sendto import INPUT_FROM, SendTo, origin_words
from .snapshot import Snapshot
from .threads import UI_LOCK
from .thumbnails import ThumbnailMaker, cached_thumbnail, placeholder, thumbnail_bytes

__all__ = ["HistoryStrip", "card_labels"]

#: Characters of a prompt shown under a thumbnail (the whole prompt is in the tooltip).
PROMPT_CHARS = 60
#: Characters of a prompt a card holds at most (its tooltip): the longest prompt an endpoint
#: takes (sketch to image's), so a session line with megabytes of prompt never reaches the
#: browser.
PROMPT_TOOLTIP_CHARS = 5000
#: Why a folder could not be written, in plain words, by ``errno``.
_FOLDER_PROBLEMS = {
    errno.ENOENT: "a folder on that path does not exist",
    errno.ENOTDIR: "a part of that path is a file, not a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the disk is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EEXIST: "a file of that name is in the way",
    errno.ENAMETOOLONG: "the name is too long",
}


def _prompt_of(result: Result) -> str:
    for key in ("prompt", "text_prompt"):
        value = result.inputs.get(key)
        if isinstance(value, str) and value:
            if len(value) > PROMPT_TOOLTIP_CHARS:
                return value[: PROMPT_TOOLTIP_CHARS - 1] + "…"
            return value
    return ""


def card_labels(result: Result) -> dict[str, str]:
    """What a thumbnail's caption says: ``prompt``, ``operation``, ``time``, ``credits``, and
    ``from``: where its input picture came from (``"from Text to image, 20:31:05"``, or ``""``).
    """
    endpoint = ENDPOINTS.get(result.endpoint)
    if result.from_cache:
        cost = "from cache"
    elif result.credits_consumed is None:
        cost = "credits unknown"
    else:
        n = result.credits_consumed
        cost = f"{n:g} credit{'' if n == 1 else 's'}"
    if result.is_preview:
        cost += ", offline preview"
    return {
        "prompt": _prompt_of(result),
        "operation": endpoint.title if endpoint else result.endpoint,
        "time": time.strftime("%H:%M:%S", time.localtime(result.created)),
        "credits": cost,
        "from": origin_words(str(result.inputs[INPUT_FROM])) if result.inputs.get(INPUT_FROM)
        else "",
    }


class HistoryStrip(Snapshot, widgets.VBox):
    """Thumbnails of results, newest first, each with its prompt, operation, time and credits.

    `results` lists them in the order they were made (oldest first, as a session log does);
    an index given to `select`, `save`, `download` or `send` counts in that list (``-1``: the
    newest).

    ``Show`` under a thumbnail calls the `on_select` handlers with that
    [`Result`][clipdrop_widgets.Result]
    (an app shows it in its compare view) and outlines its card; ``Download`` sends it to the
    browser as a download and ``Download all`` the whole session as a zip (images and session
    log; built on disk, refused above `download_all.DOWNLOAD_ALL_LIMIT`, 500 MB), which works
    in JupyterLab, Notebook 7, Voila and on Binder alike; ``Save`` writes it
    to the folder typed above the strip (on the kernel's machine); ``Save all`` writes every
    one not saved there yet.

    Args:
        max_items: how many results to show at once (oldest dropped first; default 50).
            With a session this is a page: **Newer** and **Older** browse the others.
        thumbnail_size: thumbnails fit in this many pixels a side (32 to 256, default 128).
        folder: where the save buttons write (default: the working directory).
        session_dir: a session folder to write every result to as it is added; an existing
            session is reopened with its earlier results, in order. Default ``None``: the
            results are kept in memory only.

    Attributes:
        errors: the line under the strip showing a failed callback's message (a select
            handler that raised, a save that failed).
        session: the [`Session`][clipdrop_widgets.Session] written to, or ``None``.
        downloader: the invisible widget that delivers downloads to the browser.
        pager: with a session, the row above the cards that pages through all of its
            results and filters them by operation and prompt words.
    """

    def __init__(self, *, max_items: int = 50, thumbnail_size: int = 128,
                 folder: str | os.PathLike[str] = ".",
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        self._send_targets: tuple[tuple[str, str], ...] = ()
        self._send_handler: Callable[[Result, str], object] | None = None
        if max_items < 1:
            raise ConfigurationError(f"max_items must be at least 1, got {max_items}")
        if not 32 <= thumbnail_size <= 256:
            raise ConfigurationError(
                f"thumbnail_size must be 32 to 256 pixels, got {thumbnail_size}")
        super().__init__(layout=Layout())
        self._max_items = max_items
        self._thumb = thumbnail_size
        self._results: list[Result] = []
        self._cards: list[HistoryCard] = []  # those shown, in the order of _results
        # Cards off the strip, kept to show the next page's results (`HistoryCard`): at most
        # max_items cards in all, shown or not.
        self._spare: list[HistoryCard] = []
        self._chosen: Result | None = None
        # Where each result was written, by folder: Save all never writes one twice.
        self._saved: weakref.WeakKeyDictionary[Result, dict[str, str]] = (
            weakref.WeakKeyDictionary())
        self._handlers: list[Callable[[Result], object]] = []
        self.errors = ErrorLine()
        self._folder = widgets.Text(value=os.fspath(folder), description="Save to",
                                    tooltip="The folder Save and Save all write to, on the "
                                            "kernel's machine",
                                    layout=Layout(width="320px"))
        self._save_all = widgets.Button(description="Save all", icon="download",
                                        disabled=True, layout=Layout(width="auto"),
                                        tooltip="Write every result (all pages) to the folder "
                                                "in Save to")
        self._save_all.on_click(self.errors.guard(lambda _b: self.save()))
        self._download_all = widgets.Button(description="Download all", icon="file-archive-o",
                                            disabled=True, layout=Layout(width="auto"),
                                            tooltip="A zip of the images and the session log "
                                                    "(up to 500 MB)")
        self._download_all.on_click(self.errors.guard(lambda _b: self.download()))
        self._download_all.add_class("cdw-download-all")
        self.downloader = Downloader()
        self.session: Session | None = None
        self._session_known = 0  # lines of the session's log when opened (catch_up)
        self._added_here = 0  # results added since the session was opened
        self._status = widgets.HTML("", layout=fixed_layout())
        # With a session: its log lines in pages (only the page shown has its images read)
        self._pages = SessionPages(max_items)
        self._maker = ThumbnailMaker(thumbnail_size)  # a page's thumbnails not kept yet
        # Shared by every card (never changed per card): a page of 50 cards makes a few
        # hundred widgets fewer, a good part of a reopen's time.
        self._auto = Layout(width="auto")
        self._buttons_row = Layout(flex_flow="row wrap", width=f"{thumbnail_size + 8}px")
        self._button_style = widgets.ButtonStyle()
        self._caption_style = HTMLStyle()
        self._actions = CardActions(select=self.select, save=self.save,
                                    download=self.download, send=self._send_to,
                                    errors=self.errors)
        self.pager = PagerBar(self._pages)
        self.pager.on_change(self.errors.guard(self._show_page))
        self._row = widgets.HBox(layout=Layout(overflow="auto", width="100%",
                                                       flex_flow="row nowrap"))
        self.children = [
            widgets.HBox([self._download_all, self._folder, self._save_all, self._status],
                         layout=Layout(align_items="center", flex_flow="row wrap")),
            self.pager,
            self._row,
            self.errors,
            self.downloader,
        ]
        if session_dir is not None:
            self.open_session(session_dir)

    # -- content ------------------------------------------------------------------------------
    @property
    def results(self) -> tuple[Result, ...]:
        """The results shown, in the order they were made (oldest first; new ones append)."""
        return tuple(reversed(self._results))

    def _pick(self, result: Result | int) -> Result:
        """``result``, or the one at that index of `results` (``-1``: the newest)."""
        if isinstance(result, Result):
            return result
        if not isinstance(result, int) or isinstance(result, bool):
            raise ConfigurationTypeError(
                f"give a Result or its index in results, got {type(result).__name__}")
        results = self.results
        if not -len(results) <= result < len(results):
            raise NotFoundError(f"there is no result {result} in the history: it holds "
                                f"{len(results)} (index 0 is the oldest, -1 the newest)")
        return results[result]

    @property
    def session_size(self) -> int:
        """How many results the session holds, as last read or added here (0 without one):
        every page's, counted without reading the log again."""
        return len(self._pages) if self.session is not None else 0

    @property
    def chosen(self) -> Result | None:
        """The result whose card is outlined: the one shown last (``None`` before any)."""
        return self._chosen

    def add(self, result: Result) -> None:
        """Put ``result`` first in the strip, outlined as the one shown (the oldest goes past
        ``max_items``), after writing it to the session folder, if any (a failed write is
        shown, the result kept)."""
        if not isinstance(result, Result):
            raise ConfigurationTypeError(
                f"HistoryStrip.add takes a Result, got {type(result).__name__}")
        self._added_here += 1
        if self.session is not None:
            try:
                self._pages.append(self.session.add(result))
            except OSError as exc:
                self.errors.show(OSError(f"could not write the result to the session folder "
                                         f"{self.session.directory}: {exc.strerror or exc}"))
        if self.session is None or (self._pages.page == 0 and not self._pages.filtered):
            self._show_first(result)  # else an older page or a filter stays as it is
        if self.session is not None:
            self.pager.show(True)
            self.pager.refresh()

    def _show_first(self, result: Result, *, later: bool = False) -> None:
        self._results.insert(0, result)
        self._cards.insert(0, self._card(result, later=later))
        gone = self._cards[self._max_items:]
        del self._results[self._max_items:], self._cards[self._max_items:]
        self._row.children = tuple(self._cards)
        self._put_aside(gone)
        self._save_all.disabled = self._download_all.disabled = False
        self._outline(result)

    def _outline(self, result: Result | None) -> None:
        self._chosen = result
        for shown, card in zip(self._results, self._cards, strict=True):
            card.outline(result is not None and _same(shown, result))

    def clear(self) -> None:
        """Remove every result from the strip (files already saved, and the session folder,
        stay)."""
        self._maker.cancel()  # the thumbnails of cards about to go
        gone = list(self._cards)
        self._results.clear()
        self._cards.clear()
        self._row.children = ()
        self._put_aside(gone)
        self._save_all.disabled = self._download_all.disabled = True
        self._chosen = None

    def _put_aside(self, cards: Sequence[HistoryCard]) -> None:
        """Keep ``cards``, taken off the strip, for the next results (`HistoryCard`)."""
        for card in cards:
            card.put_aside()
        self._spare.extend(reversed(cards))  # the first card taken off is the first reused
        self._trim()

    def _trim(self) -> None:
        """Close the cards put aside past ``max_items`` cards in all, with every widget in
        them but the layouts and styles every card shares."""
        surplus = len(self._spare) + len(self._cards) - self._max_items
        if surplus > 0:
            extra, self._spare = self._spare[:surplus], self._spare[surplus:]
            close_tree(extra, keep=(self._auto, self._buttons_row, self._button_style,
                                    self._caption_style))

    # -- the session --------------------------------------------------------------------------
    def open_session(self, session_dir: str | os.PathLike[str]) -> Session:
        """Write to the session in ``session_dir`` from now on, showing its results instead
        of the strip's (a new folder starts empty; see [`Session`][clipdrop_widgets.Session])."""
        session = Session(session_dir)
        records = session.records()  # the lines only: images are read a page at a time
        self.clear()
        self.session = session
        self._session_known, self._added_here = len(records), 0
        self._pages.reset(records)
        self._show_page()
        if session.problems:  # lines skipped as unsafe or unreadable: say so where people look
            n = len(session.problems)
            self._status.value = (f"<small>{n} line{'' if n == 1 else 's'} of the session log "
                                  f"skipped: {html.escape(session.problems[0])}</small>")
        return session

    def _show_page(self) -> None:
        """Show the session's page `pager` points at: the newest ``max_items`` results by
        default; only that page's images are read from the folder."""
        if self.session is None:
            return
        results = []
        for _position, record in self._pages.current():  # newest first
            try:
                results.append(self.session.result_for(record))
            except OSError:
                continue  # its image was removed by hand
        # The page's cards are those of the page before, filled again, and the row changes
        # once: a turn is a few messages a card (`history_card`), not a thousand.
        self._maker.cancel()  # the thumbnails of the page before
        gone, self._cards = self._cards, []
        self._put_aside(gone)
        self._results = results
        self._cards = [self._card(result, later=True) for result in results]  # a thumbnail
        self._row.children = tuple(self._cards)                    # not kept: made after
        self._trim()  # what this page did not need, past max_items in all
        if self._chosen is None:  # a session opened: its newest result
            self._chosen = results[0] if results else None
        self._outline(self._chosen)  # the result shown, when it is on this page
        # Save all and Download all take every page's results, whatever this page shows
        self._save_all.disabled = self._download_all.disabled = not len(self._pages)
        self.pager.show(len(self._pages) > 0)
        self.pager.refresh()

    def catch_up(self) -> bool:
        """Show the results another process wrote to the session since it was opened here;
        ``True`` if there were any.

        For a kernel started ahead of its page (Voila's preheated kernels): it opened the
        session before the visitor's previous page wrote its last results. Done only while
        nothing was added here (the strip is then exactly the session as it was).
        """
        if self.session is None or self._added_here or len(self.session) <= self._session_known:
            return False
        # The log read again; the page and filters browsed stay (the newest page shows the
        # new results first; another page stays as it is, its place and count brought up
        # to date, as when a result is made here).
        session = Session(self.session.directory)
        records = session.records()
        self.session = session
        self._session_known = len(records)
        self._pages.replace(records)
        if self._pages.page == 0 and not self._pages.filtered:
            self._show_page()
        else:
            self.pager.refresh()
        return True

    @property
    def session_records(self) -> tuple[dict, ...]:
        """Every line of the session as last read or added here, oldest first (``()``
        without a session): the log is not read again."""
        return self._pages.records if self.session is not None else ()

    def wait_thumbnails(self, timeout: float | None = None) -> bool:
        """Block until the page's thumbnails are all made (they are made after the cards
        come up, on a thread of their own); ``False`` when ``timeout`` seconds passed first.
        Not from a widget's callback: the thumbnails are put in place under the lock those
        hold (`threads.UI_LOCK`)."""
        return self._maker.wait(timeout)

    def on_shown(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` each time a page shows this strip's widgets (connects to them)."""
        self.downloader.on_shown(callback)

    def _card(self, result: Result, *, later: bool = False) -> HistoryCard:
        """A card showing ``result``: one put aside, or a new one. With ``later`` a thumbnail
        not kept in the session folder is made on the maker's thread, a placeholder shown
        meanwhile."""
        card = self._spare.pop() if self._spare else HistoryCard(
            thumbnail_size=self._thumb, actions=self._actions,
            shared={"buttons": self._auto, "buttons_row": self._buttons_row,
                    "button_style": self._button_style, "caption_style": self._caption_style})
        folder = self.session.directory if self.session is not None else None
        made = cached_thumbnail(result, self._thumb, folder) if later else \
            thumbnail_bytes(result, self._thumb, folder)
        card.fill(result, made or (placeholder(self._thumb), "png", (self._thumb, self._thumb)),
                  caption_html(card_labels(result), width=self._thumb,
                               prompt_chars=PROMPT_CHARS),
                  self._send_targets)
        if made is None:
            self._maker.ask(result, folder, lambda thumb: card.show_thumbnail(result, thumb),
                            lambda exc: self._thumbnail_failed(exc))
        return card

    def _thumbnail_failed(self, exc: Exception) -> None:
        with UI_LOCK:
            self.errors.show(OSError(f"could not make the thumbnail of a result: {exc}"))

    # -- sending ------------------------------------------------------------------------------
    def offer_send(self, targets: Sequence[tuple[str, str]],
                   handler: Callable[[Result, str], object]) -> None:
        """Give every card (those shown and those to come) a "Send to" menu of ``targets``,
        ``(name, title)`` pairs; choosing one calls ``handler(result, name)``."""
        self._send_targets = tuple(targets)
        self._send_handler = handler
        for card in self._cards:
            card.sender.set_targets(self._send_targets)  # those put aside: when filled

    def send(self, result: Result | int, name: str) -> None:
        """Send ``result`` (or the one at that index of `results`, -1 = newest) to the
        operation ``name``, as its card's "Send to" menu does."""
        chosen = self._pick(result)
        self._senders[chosen].send(name)

    @property
    def _senders(self) -> dict[Result, SendTo]:
        """Each result shown's "Send to" menu."""
        return {card.result: card.sender for card in self._cards if card.result is not None}

    def _send_to(self, result: Result, name: str) -> None:
        if self._send_handler is None:
            raise ConfigurationError("this history sends results nowhere (no Studio around it)")
        self._send_handler(result, name)

    # -- selecting ----------------------------------------------------------------------------
    def on_select(self, callback: Callable[[Result], object], *, remove: bool = False) -> None:
        """Call ``callback(result)`` when a result is chosen (``remove=True`` to stop)."""
        if remove:
            self._handlers.remove(callback)
        else:
            self._handlers.append(callback)

    def select(self, result: Result | int) -> Result:
        """Choose ``result`` (or the one at that index of `results`, -1 = newest) as a click
        on Show does."""
        chosen = self._pick(result)
        if chosen not in self._results:
            raise ConfigurationError("that result is not in the history strip")
        self._outline(chosen)
        for handler in list(self._handlers):
            handler(chosen)
        return chosen

    # -- saving -------------------------------------------------------------------------------
    @property
    def folder(self) -> str:
        """The folder the save buttons write to."""
        return self._folder.value

    def _every_result(self) -> Iterator[Result]:
        """Every result of the session, all pages, oldest first, each read from the folder
        when its turn comes (never all at once); without a session, those shown."""
        if self.session is None:
            yield from self.results
            return
        for record in self._pages.records:
            try:
                yield self.session.result_for(record)
            except OSError:
                continue  # its image was removed by hand

    def save(self, result: Result | int | None = None, *,
             folder: str | os.PathLike[str] | None = None) -> list[str]:
        """Write one result (or, with ``None``, all of them: with a session, every result
        of the session, all pages, read one at a time) to ``folder``; returns the paths.

        Files are named ``<operation>-<date>-<time>`` with the extension of the image's format,
        bytes as received; an existing file is never overwritten (``-2``, ``-3`` is added). A
        result already saved in that folder (its file still there) is not written again: its
        path is returned. A folder that cannot be written raises ``OSError`` in plain words.
        """
        folder = os.path.expanduser(os.fspath(self.folder if folder is None else folder)) or "."
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise _folder_error(folder, exc) from None
        chosen = self._every_result() if result is None else iter([self._pick(result)])
        key = os.path.abspath(folder)
        paths, written = [], 0
        for r in chosen:
            done = self._saved.get(r, {}).get(key)
            if done is None or not os.path.exists(done):
                done = _already_there(folder, r)  # saved by another strip, or before a restart
            if done is None:
                try:
                    done = r.save(_free_path(folder, r))
                except OSError as exc:
                    raise _folder_error(folder, exc) from None
                self._saved.setdefault(r, {})[key] = done
                written += 1
            paths.append(done)
        if paths:
            if len(paths) == 1:
                where = os.path.abspath(paths[0])
                words = f"Saved {where}" if written else f"Already saved: {where}"
            else:
                # the folder in full: "." or "out" says nothing of where the files are
                words = f"Saved {written} file{'' if written == 1 else 's'} in {key}"
                if written < len(paths):
                    words += f" ({len(paths) - written} saved before)"
            self._status.value = f"<small>{html.escape(words)}</small>"
        return paths

    # -- downloading --------------------------------------------------------------------------
    def download(self, result: Result | int | None = None) -> str:
        """Send one result (or, with ``None``, a zip of the whole session: images and log) to
        the browser as a download; returns the file name. The zip is written to a temporary
        file and sent from it; above `download_all.DOWNLOAD_ALL_LIMIT` (500 MB) it is refused
        (`ConfigurationError` naming the size and "Save all") before anything is written."""
        if result is None:  # with a session: every page's results, the log and the inputs
            if not self._results and not self.session_size:
                raise ConfigurationError("there is nothing to download yet")
            if self.session is not None:  # on disk, one file at a time; refused if too big
                zipped, name = session_zip(self.session), \
                    f"clipdrop-{self.session.directory.name}.zip"
            else:
                zipped, name = results_zip(self._results), "clipdrop-results.zip"
            with zipped:
                self.downloader.send_file(zipped, name, mime="application/zip")
        else:
            one = self._pick(result)
            name = download_name(one)
            self.downloader.send_file(recorded_bytes(one), name, mime=one.content_type)
        self._status.value = f"<small>Sent {html.escape(name)} to your browser</small>"
        return name

    def snapshot(self) -> Image.Image:
        """The newest results as a strip of thumbnails with their labels.

        Saved notebooks and pages without a widget front end show it.
        """
        shown = self._results[:8]
        size = 112
        if not shown:
            picture = Image.new("RGB", (240, 40), "#f4f4f4")
            ImageDraw.Draw(picture).text((10, 12), "No results yet", fill="#666666",
                                         font=ImageFont.load_default(size=13))
            return picture
        cols = min(4, len(shown))
        rows = (len(shown) + cols - 1) // cols
        picture = Image.new("RGB", (cols * (size + 8), rows * (size + 8)), "white")
        for i, result in enumerate(shown):
            thumb = result.image.convert("RGB")
            thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
            x = (i % cols) * (size + 8) + 4 + (size - thumb.width) // 2
            y = (i // cols) * (size + 8) + 4 + (size - thumb.height) // 2
            picture.paste(thumb, (x, y))
        return picture

    def __repr__(self) -> str:
        n = len(self._results)
        return f"HistoryStrip({n} result{'' if n == 1 else 's'})"


def _same(a: Result, b: Result) -> bool:
    """Whether ``a`` and ``b`` are one result (a page read again makes new objects)."""
    return a is b or (a.created == b.created and a.endpoint == b.endpoint
                      and a.sha256 == b.sha256)


def _folder_error(folder: str, exc: OSError) -> OSError:
    """``exc`` as one plain sentence naming the folder (no ``[Errno 2]``)."""
    reason = _FOLDER_PROBLEMS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
    return OSError(f"Cannot save in the folder {folder!r}: {reason.lower()}. "
                   "Type another folder in \"Save to\".")


def _names(folder: str, result: Result) -> Iterator[str]:
    """``result``'s file names in ``folder``: ``<operation>-<date>-<time>.<ext>``, then with
    ``-2``, ``-3`` and so on."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.created))
    ext = result.extension
    base = os.path.join(folder, safe_name(f"{result.endpoint}-{stamp}"))  # never a path
    yield f"{base}.{ext}"
    n = 1
    while True:
        n += 1
        yield f"{base}-{n}.{ext}"


def _free_path(folder: str, result: Result) -> str:
    """A path in ``folder`` for ``result`` that no file uses yet (extension included)."""
    return next(path for path in _names(folder, result) if not os.path.exists(path))


def _already_there(folder: str, result: Result) -> str | None:
    """The file in ``folder`` that already holds ``result`` (its image, record aside), found
    among the names it would be saved under; ``None`` when there is none."""
    for path in _names(folder, result):
        if not os.path.exists(path):
            return None
        try:
            with open(path, "rb") as f:
                if strip_record(f.read()) == result.data:
                    return path
        except OSError:
            continue
    return None

