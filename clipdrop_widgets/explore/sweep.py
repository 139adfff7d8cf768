"""Sweeps: one operation over many prompts, pictures, option values or takes, at the
endpoint's rate, with a run log that survives.

>>> sweep = Sweep(client, "text_to_image", template="a {animal} in {style}",
...               variables={"animal": ["fox", "owl"], "style": ["ink", "oil paint"]},
...               run_dir="runs/animals")
>>> records = sweep.run()          # again after a crash: only the missing items are requested
>>> sweep.contact_sheet().savefig("animals.pdf")
>>> Sweep(client, "uncrop", images="photos/", options={"seed": [1, 2, 3]}).run()

Every item is checked with the client's own rules when the sweep is made, so a bad item is
reported before any credit is spent. ``run`` sends items from a small thread pool paced by the
client's rate limiter; each result is saved (image first, then its log line) the moment it
arrives. A 400 fails one item; a 402, the budget, or a refused key stops the sweep cleanly.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..api.records import recorded_bytes
from ..contract.endpoints import CONTENT_TYPE_FORMATS, FORMAT_EXTENSIONS, Endpoint, endpoint
from ..contract.errors import (
    APIConnectionError,
    BudgetExceededError,
    CancelledError,
    ClipdropError,
    ConfigurationError,
    ConfigurationTypeError,
    NotFoundError,
    StateError,
)
from .contact_sheet import Cell, GridLayout, draw_contact_sheet, sweep_label, sweep_layout
from .frame import records_frame
from .items import SweepItem, VariableValue
from .plan import IMAGE_AXIS, item_options, plan_sweep
from .progress import STOPPING_ERRORS, ProgressState, RunClock, make_progress, stop_reason
from .provenance import sheet_record, sweep_rows, write_parquet
from .runlog import (
    IDENTITY_KEYS,
    MANIFEST_KIND,
    MANIFEST_VERSION,
    UNCERTAIN,
    UNCERTAIN_WORDS,
    RunDirMismatchError,
    RunLog,
)
from .turns import SendTurns

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    from matplotlib.figure import Figure
    from PIL import Image

    from ..api.client import Client

__all__ = ["Sweep", "SweepItem", "RunDirMismatchError"]

#: Worker threads against the service: enough to keep a 60-per-minute limit busy when one
#: answer takes up to ~16 s. The in-process engine computes, so it gets one per CPU, at most 4.
DEFAULT_WORKERS = 16
#: The keys of every record, in order.
RECORD_KEYS = ("index", "prompt", "variables", "operation", "status", "error", "error_type",
               "credits", "sha256", "file", "content_type", "source", "started_at",
               "finished_at", "wall_seconds", "request_seconds")


def _slug(text: str, length: int = 40) -> str:
    """``text`` as a file name part; a minus sign before a number is spelled out, so that
    ``extend_left -50`` and ``extend_left 50`` get different names."""
    text = re.sub(r"(?<![\w.])-(?=\.?\d)", " minus ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text)[:length].strip("-")


# -- the sweep ------------------------------------------------------------------------------
class Sweep:
    """One operation over many items, run at the endpoint's rate, logged to ``run_dir``.

    The items are the product of the prompts, ``images``, ``options`` and ``repeat`` given
    (the last varying fastest); each keeps its values in its record's ``variables``.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] that sends the requests.
        operation: a client method: ``"text_to_image"``, ``"uncrop"``... An operation
            without a prompt (the six later ones, cleanup) sweeps ``images``, ``options``
            or ``repeat``.
        prompts: the prompts, one item each (give this or ``template``).
        template: a prompt with ``{name}`` fields, expanded over the product of ``variables``
            (``{"animal": ["fox", "owl"], "style": [...]}``); each item keeps its values.
        variables: the values of each template field, in order (strings or numbers).
        inputs: the fixed arguments of the method, by its keyword names: files (``image``,
            ``mask``, ``sketch``: anything the client takes) and options (``format``,
            ``mode``, ``seed``). Files are encoded once and checked with the client's rules.
        run_dir: a folder for the run log and images; running again with the same folder
            resumes. Default ``None``: results are kept in memory only.
        images: pictures for the operation's ``image`` (or ``sketch``), one item each: a
            list (labelled by file name, else ``image 0``...), a dict ``{label: image}`` or
            a folder (its PNG, JPEG and WebP files, by name). Variable ``image``.
        options: option values by keyword, crossed like template variables
            (``{"seed": [1, 2], "extend_left": [0, 256]}``), or a list of dicts, one item
            each (upscale's ``[{"target_width": 1024, "target_height": 768}, ...]``).
        repeat: calls per item for an operation that answers anew each time (reimagine;
            uncrop without a seed); variable ``take``, 1..N.

    Raises:
        TypeError: unknown or missing ``inputs``/``options``, or wrongly typed values.
        ValueError: an unknown operation, a template field without values (or values without
            a field), nothing to sweep, or a ``repeat`` that would pay for one picture twice.
        InputError: an item or input breaks an endpoint rule (all bad items are listed, each
            with the field and the limit); nothing has been sent.
        RunDirMismatchError: ``run_dir`` holds another sweep.
    """

    def __init__(
        self,
        client: Client,
        operation: str,
        *,
        prompts: Sequence[str] | None = None,
        template: str | None = None,
        variables: Mapping[str, Sequence[VariableValue]] | None = None,
        inputs: Mapping[str, Any] | None = None,
        run_dir: str | os.PathLike[str] | None = None,
        images: Any = None,
        options: Mapping[str, Sequence[VariableValue]] | Sequence[Mapping[str, Any]]
        | None = None,
        repeat: int = 1,
    ) -> None:
        ep = endpoint(operation)
        method = getattr(client, operation, None)
        if not callable(method):
            raise ConfigurationTypeError(f"{type(client).__name__} has no method {operation}()")
        plan = plan_sweep(client, ep, prompts=prompts, template=template, variables=variables,
                          inputs=inputs or {}, images=images, options=options, repeat=repeat)
        self._setup(client=client, operation=operation, items=plan.items,
                    template=plan.template, variables=plan.variables, log=RunLog(run_dir),
                    inputs_described=plan.described, source=client.source, swept=plan.swept)
        self._call_args = plan.call_args
        self._pictures = plan.pictures
        self._log.check(self._manifest())
        self._load()

    def _setup(self, *, client: Client | None, operation: str, items: list[SweepItem],
               template: str | None, variables: dict[str, list[VariableValue]] | None,
               log: RunLog, inputs_described: dict[str, Any], source: str,
               swept: dict[str, Any]) -> None:
        self.client = client
        self.operation = operation
        self.endpoint: Endpoint = endpoint(operation)
        self.items: tuple[SweepItem, ...] = tuple(items)
        self.template = template
        self.variables = variables
        self._log = log
        self._inputs = inputs_described
        self._source = source
        self._call_args: dict[str, Any] = {}
        self._swept = swept
        self._pictures: dict[str, bytes] = {}
        self._latest: dict[int, dict[str, Any]] = {}
        self._state = threading.Lock()
        self._running = threading.Lock()
        self._stop = threading.Event()
        # Set with _stop, except when the budget ran out: requests that already reserved
        # their credits may still go; after a 402, a refused key or Stop, none should.
        self._cancel_unsent = threading.Event()
        self.stopped_reason: str | None = None
        self._stop_error: BaseException | None = None
        self._fatal: BaseException | None = None
        self._clock: RunClock | None = None
        width = max(4, len(str(len(items) - 1)))
        self._stems = [f"{it.index:0{width}d}" + (f"_{s}" if (s := _slug(
            it.prompt if it.prompt is not None else self.label(it.index))) else "")
            for it in items]

    @classmethod
    def open(cls, run_dir: str | os.PathLike[str]) -> Sweep:
        """Reopen a past run to read it: records, table, images, contact sheet.

        The result has no client, so it cannot `run`; to resume, make the same
        ``Sweep(client, ...)`` with this ``run_dir``.
        """
        log = RunLog(run_dir)
        manifest = log.read_manifest()
        if manifest is None:
            raise FileNotFoundError(f"{os.fspath(run_dir)} holds no sweep (no "
                                    "sweep.json): nothing to open")
        items = [SweepItem(i, it.get("prompt"), dict(it.get("variables") or {}))
                 for i, it in enumerate(manifest["items"])]
        self = cls.__new__(cls)
        self._setup(client=None, operation=manifest["operation"], items=items,
                    template=manifest.get("template"), variables=manifest.get("variables"),
                    log=log, inputs_described=manifest.get("inputs", {}),
                    source=manifest.get("source", "service"), swept=manifest.get("swept") or {})
        self._load()
        return self

    # -- identity and state ----------------------------------------------------------------
    def _manifest(self) -> dict[str, Any]:
        return {
            "kind": MANIFEST_KIND,
            "version": MANIFEST_VERSION,
            "operation": self.operation,
            "source": self._source,
            "inputs": self._inputs,
            "items": [it.as_json() for it in self.items],
            "template": self.template,
            "variables": self.variables,
            "swept": self._swept,
            "created_at": time.time(),
            "package_version": __version__,
        }

    @property
    def fingerprint(self) -> str:
        """16 hex digits naming this sweep: operation, source, inputs and items.

        Two sweeps with the same fingerprint may share a ``run_dir`` (the explorer names its
        run folders by it, so running the same sweep again resumes).
        """
        manifest = self._manifest()
        identity = json.dumps([manifest[k] for k in IDENTITY_KEYS], sort_keys=True,
                              ensure_ascii=False)
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]

    @property
    def run_dir(self) -> Path | None:
        """The run folder, or ``None`` when results are kept in memory."""
        return self._log.run_dir

    def _load(self) -> None:
        """Read the log: the last record of each item wins, but an ``ok`` is never replaced."""
        latest: dict[int, dict[str, Any]] = {}
        for record in self._log.read():
            i = record.get("index")
            if not isinstance(i, int) or not 0 <= i < len(self.items):
                continue
            if latest.get(i, {}).get("status") != "ok":
                latest[i] = record
        for i, record in latest.items():
            if record.get("status") == "sending":  # intent logged, no outcome: killed
                latest[i] = {**record, "status": UNCERTAIN, "error": UNCERTAIN_WORDS}
                continue
            if record.get("status") == "ok" and not (record.get("file")
                                                     and self._log.has_image(record["file"])):
                latest[i] = {**record, "status": "failed",
                             "error": f"its image file {record.get('file')} is gone"}
        with self._state:
            self._latest = latest

    def _record(self, item: SweepItem, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = dict.fromkeys(RECORD_KEYS)
        record.update(index=item.index, prompt=item.prompt, variables=dict(item.variables),
                      operation=self.operation, status="pending")
        record.update(fields)
        return record

    @property
    def records(self) -> list[dict[str, Any]]:
        """One dict per item, in item order (see ``RECORD_KEYS``).

        ``status`` is ``"ok"``, ``"failed"`` (the service refused it: see ``error``),
        ``"stopped"`` (it met the error that stopped the sweep; it is retried),
        ``"uncertain"`` (its request may have gone out, and been charged, before the run was
        killed or its answer lost: ``error`` says so; it is sent again only with
        ``run(resend_uncertain=True)``) or ``"pending"``. Times are Unix seconds
        (``started_at``, ``finished_at``) and seconds (``wall_seconds`` including the
        rate-limit wait, ``request_seconds`` on the wire); ``credits`` is what the server
        reported (the documented cost when it said nothing; ``None`` for an image recovered
        from a run killed between saving it and logging it).
        """
        with self._state:
            records = [self._latest.get(it.index) or self._record(it) for it in self.items]
            return [{**r, "variables": dict(r["variables"])} for r in records]

    def _counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("ok", "failed", "stopped", UNCERTAIN, "pending"), 0)
        with self._state:
            for it in self.items:
                status = (self._latest.get(it.index) or {}).get("status", "pending")
                counts[status] = counts.get(status, 0) + 1
        return counts

    def _credits(self) -> float:
        with self._state:
            return sum(r.get("credits") or 0 for r in self._latest.values())

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        c = self._counts()
        to_run = c["pending"] + c["stopped"]
        where = f", run_dir={str(self.run_dir)!r}" if self.run_dir is not None else ""
        stopped = f", stopped: {self.stopped_reason}" if self.stopped_reason else ""
        maybe = f", {c[UNCERTAIN]} may have been charged" if c[UNCERTAIN] else ""
        return (f"<Sweep {self.operation}: {len(self.items)} items, {c['ok']} ok, "
                f"{c['failed']} failed{maybe}, {to_run} to run{where}{stopped}>")

    # -- running ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask a running sweep to stop: items in flight finish, nothing new starts.

        Thread-safe (the explorer's Stop button calls it). A stop asked before `run`
        starts applies to that run.
        """
        self._request_stop("stopped by the user", None)

    def _request_stop(self, reason: str, error: BaseException | None) -> None:
        with self._state:
            if not self._stop.is_set():
                self.stopped_reason = reason
                self._stop_error = error
                self._stop.set()
            if not isinstance(error, BudgetExceededError):
                self._cancel_unsent.set()

    def run(self, *, workers: int | None = None, progress: bool | None = None,
            raise_on_stop: bool = False,
            on_record: Callable[[dict[str, Any]], None] | None = None,
            resend_uncertain: bool = False) -> list[dict[str, Any]]:
        """Run every item not finished yet; returns `records`.

        Items already ``ok`` in the run log are not requested again; failed and stopped ones
        are retried. Each item's intent is logged before its request goes out, so an item
        whose run was killed (or whose answer was lost) in flight is ``"uncertain"``: it may
        have been charged, and it is sent again only with ``resend_uncertain=True``. When the
        sweep stops early (out of credits, budget, refused key, `stop`), `stopped_reason`
        says why; ``None`` after a full run.

        Args:
            workers: threads sending requests (default: 16 against the service, one per CPU
                up to 4 on the local engine); the client's rate limiter paces them.
            progress: ``None`` shows a progress bar only in IPython, ``True`` always (text
                outside a notebook), ``False`` never.
            raise_on_stop: raise the error that stopped the sweep (after saving everything).
            on_record: called with each new record, from a worker thread, as items finish.
            resend_uncertain: also send the items that may have been charged already
                (default ``False``: they stay ``"uncertain"``, and `progress` counts them).

        Raises:
            RunDirBusyError: another sweep (in this process or another) is running in
                ``run_dir``; nothing was sent.
            KeyboardInterrupt: after an interrupt, once items in flight are saved.
            Exception: an unexpected error (a full disk...), after items in flight are saved.
        """
        if self.client is None:
            raise StateError("this sweep was opened read-only (Sweep.open); make it again "
                               "with Sweep(client, ...) and the same run_dir to resume")
        if workers is not None and workers < 1:
            raise ConfigurationError(f"workers must be 1 or more, got {workers}")
        if not self._running.acquire(blocking=False):
            raise StateError("this sweep is already running")
        try:
            with self._log.locked():
                return self._run(workers, progress, raise_on_stop, on_record, resend_uncertain)
        finally:
            self._stop.clear()
            self._cancel_unsent.clear()
            self._running.release()

    def _run(self, workers: int | None, progress: bool | None, raise_on_stop: bool,
             on_record: Callable[[dict[str, Any]], None] | None,
             resend_uncertain: bool) -> list[dict[str, Any]]:
        assert self.client is not None
        self._log.start(self._manifest())
        self._load()
        self._adopt_orphans()
        with self._state:
            if not self._stop.is_set():
                self.stopped_reason = None
                self._stop_error = None
            self._fatal = None
            skip = {"ok"} if resend_uncertain else {"ok", UNCERTAIN}
            todo = deque(it for it in self.items
                         if (self._latest.get(it.index) or {}).get("status") not in skip)
        if not todo:
            return self.records
        limiter = self.client.limiter(self.operation)
        if workers is None:
            workers = (min(4, os.cpu_count() or 1) if self.client.is_local
                       else DEFAULT_WORKERS)
        n_workers = min(workers, len(todo), limiter.limit if limiter else len(todo))
        display = make_progress(len(self.items), title=self.operation, show=progress)
        clock = self._clock = RunClock(len(todo))
        queue_lock = threading.Lock()
        turns = SendTurns(limiter, self._stop)

        def work() -> None:
            while not self._stop.is_set():
                with queue_lock:
                    if not todo:
                        return
                    item = todo.popleft()
                # intent before sending: a kill from then on leaves it as the item's last
                # line, and the next run reports the item as maybe charged, not paid again
                intent = self._record(item, status="sending", started_at=round(time.time(), 3))
                done = turns.take(lambda record=intent: self._log.append(record))
                if done is None:
                    return  # stopped while waiting: the item was not sent
                try:
                    try:
                        record = self._run_item(item)
                    finally:
                        done.set()
                    if record is None:
                        return  # stopped before it was sent: still to do
                    clock.tick()
                    if on_record is not None:
                        on_record(dict(record))
                except Exception as exc:  # noqa: BLE001 - re-raised by run() below
                    with self._state:
                        self._fatal = self._fatal or exc
                    self._request_stop(self.client.redact(f"error: {type(exc).__name__}: "
                                                          f"{exc}"), exc)
                    return

        with ThreadPoolExecutor(n_workers, thread_name_prefix="sweep") as pool:
            futures = [pool.submit(work) for _ in range(n_workers)]
            try:
                while wait_futures(futures, timeout=0.25).not_done:
                    if display is not None:
                        display.update(self.progress())
            except KeyboardInterrupt:
                self._request_stop("interrupted", None)
                wait_futures(futures)
                raise
            finally:
                if display is not None:
                    display.close(self.progress())
        if self._fatal is not None:
            raise self._fatal
        if raise_on_stop and self._stop_error is not None:
            raise self._stop_error
        return self.records

    def _run_item(self, item: SweepItem) -> dict[str, Any] | None:
        """Send one item, save what came back, log it; its record, or None if never sent."""
        assert self.client is not None
        method = getattr(self.client, self.operation)
        started, t0 = time.time(), time.perf_counter()
        fields: dict[str, Any]
        try:
            result = method(**self._item_args(item), cancel=self._cancel_unsent)
        except CancelledError:  # the sweep stopped while this item waited: nothing was sent
            self._log.append(self._record(item, status="stopped", error="stopped before it "
                                          "was sent", error_type="CancelledError"))
            return None
        except ClipdropError as exc:
            stopping = isinstance(exc, STOPPING_ERRORS)
            fields = {"status": "stopped" if stopping else "failed",
                      "error": self.client.redact(str(exc)),
                      "error_type": type(exc).__name__}
            if isinstance(exc, APIConnectionError) and exc.sent:  # its answer lost, maybe paid
                fields.update(status=UNCERTAIN, credits=exc.credits_consumed,
                              error=f"{UNCERTAIN_WORDS} ({fields['error']})")
            if stopping:
                self._request_stop(self.client.redact(stop_reason(exc)), exc)
        else:
            fmt = CONTENT_TYPE_FORMATS.get(result.content_type, "bin")
            name = f"{self._stems[item.index]}.{FORMAT_EXTENSIONS.get(fmt, fmt)}"
            self._log.save_image(name, recorded_bytes(  # the image first, then its line
                result, template=self.template, values=item.variables))
            credits = result.credits_consumed
            if credits is None and not result.from_cache:
                credits = self.endpoint.credits
            fields = {"status": "ok", "credits": credits, "file": name,
                      "sha256": hashlib.sha256(result.data).hexdigest(),
                      "content_type": result.content_type, "source": result.source,
                      "request_seconds": round(result.elapsed, 4)}
        finished = time.time()
        record = self._record(item, started_at=round(started, 3), finished_at=round(finished, 3),
                              wall_seconds=round(time.perf_counter() - t0, 4), **fields)
        self._log.append(record)
        with self._state:
            if (self._latest.get(item.index) or {}).get("status") != "ok":
                self._latest[item.index] = record
        return record

    def _item_args(self, item: SweepItem) -> dict[str, Any]:
        """The keyword arguments of ``item``'s call: prompt, fixed inputs, swept values."""
        args = {**self._call_args, **item_options(self._swept, item)}
        if self.endpoint.prompt_field is not None:
            args[self.endpoint.prompt_field.name] = item.prompt
        if self._swept.get("image"):
            args[self._swept["image"]] = self._pictures[item.variables[IMAGE_AXIS]]
        return args

    def _adopt_orphans(self) -> None:
        """Log images saved by a run killed before it wrote their lines (paid, not lost)."""
        for item in self.items:
            with self._state:
                if (self._latest.get(item.index) or {}).get("status") == "ok":
                    continue
            found = self._log.orphan_facts(self._stems[item.index])
            if found is not None:
                record = self._record(item, status="ok", source=self._source, **found)
                self._log.append(record)
                with self._state:
                    self._latest[item.index] = record

    def progress(self) -> ProgressState:
        """A snapshot: items done and failed, credits spent, seconds left in this run.

        ``seconds_left`` is estimated from the pace of the current (or last) run; ``None``
        before any item of it has finished. Thread-safe.
        """
        c = self._counts()
        clock = self._clock
        return ProgressState(total=len(self.items), done=c["ok"], failed=c["failed"],
                             credits=self._credits(), uncertain=c[UNCERTAIN],
                             seconds_left=clock.seconds_left() if clock else None,
                             stopped_reason=self.stopped_reason)

    # -- reading the results ---------------------------------------------------------------
    def image(self, i: int) -> Image.Image:
        """Item ``i``'s image (PIL). `LookupError` if it has none (failed, pending)."""
        record = self.records[i]
        if record["status"] != "ok":
            why = f": {record['error']}" if record.get("error") else ""
            raise NotFoundError(f"item {i} ({self.label(i)!r}) has no image; it is "
                              f"{record['status']}{why}")
        return self._decode(record)

    def input_image(self, i: int) -> Image.Image | None:
        """The picture item ``i`` was made from when the sweep is over ``images=`` (PIL, as
        sent), else ``None`` (also for a sweep opened read-only: its pictures are not kept)."""
        from PIL import Image

        label = self.items[i].variables.get(IMAGE_AXIS)
        data = self._pictures.get(label) if self._swept.get("image") else None
        return Image.open(io.BytesIO(data)) if data is not None else None

    def images(self) -> list[Image.Image | None]:
        """Every item's image in item order, ``None`` where an item has none."""
        return [self._decode(r) if r["status"] == "ok" else None for r in self.records]

    def _decode(self, record: Mapping[str, Any]) -> Image.Image:
        from PIL import Image

        im = Image.open(io.BytesIO(self._log.load_image(record["file"])))
        im.load()
        return im

    def to_dataframe(self) -> pandas.DataFrame:
        """The records as a pandas DataFrame, one column per variable after ``prompt``.
        A variable whose name is also a record key gets the column ``var_<name>``.
        Raises `ImportError` with the install command when pandas is missing.
        """
        return records_frame(self.records, list(self.variables or {}), RECORD_KEYS)

    def layout(self, *, rows: str | int | None = None, cols: str | int | None = None
               ) -> GridLayout:
        """Where each item goes in a grid (see `contact_sheet.sweep_layout`)."""
        return sweep_layout([it.variables for it in self.items], self.variables,
                            rows=rows, cols=cols)

    def label(self, i: int) -> str:
        """Item ``i`` in a few words: its varying values (swept options and takes by name,
        ``seed 7``; pictures by label), else its prompt, else the operation's title."""
        return sweep_label(self.items, i, self.variables, self._swept, self.template,
                           self.endpoint.title)

    def contact_sheet(self, *, rows: str | int | None = None, cols: str | int | None = None
                      ) -> Figure:
        """A matplotlib Figure of the results as a grid (``.savefig("sheet.png"/".pdf")``).

        Args:
            rows: for a template, the variable whose values make the rows (default: the
                first of exactly two that vary); for a list, or to wrap, a number of rows
                (default: about square).
            cols: likewise for the columns (default: the second varying variable).

        Each cell is titled with its prompt part; failed cells are tinted red with the
        reason; items not run say so.
        """
        layout = self.layout(rows=rows, cols=cols)
        cells = [Cell(self.label(r["index"]), r["status"], image, r["error"])
                 for r, image in zip(self.records, self.images(), strict=True)]
        return draw_contact_sheet(cells, layout, title=self.template or self.operation,
                                  record=sheet_record(self))

    def to_parquet(self, path: str | os.PathLike[str]) -> str:
        """Write one row per image (see `sweep_rows`) to a Parquet file; returns the
        path. Needs pyarrow (``pip install 'clipdrop-widgets[examples]'``)."""
        return write_parquet(sweep_rows(self), path)

