"""Bounded work: a pool of worker threads and a bounded queue of requests waiting for them.

A request takes a `Slot` when its headers pass; while its body arrives the slot is only
*receiving*, and counts against nothing here (a client trickling its upload holds no place:
the HTTP layer bounds bodies in bytes and in upload rate, `intake`). Once the body is read
the slot is *admitted* (`Slot.admit`) and counts against ``workers + queue``:
`WorkPool.try_enter` returns ``None`` when that many are admitted, and the HTTP layer
answers 503 with `WorkPool.retry_after`. Admitted jobs start at most ``workers`` at once
and, past the first, only while the megapixels of the jobs running stay within
``megapixels`` (`Slot.megapixels`, from the images' headers): two 16 MP cleanups do not run
side by side on a small machine, many small jobs do. They start in order, except that a job
that fits may start before earlier ones that do not (a small job beside a running big one
does not wait for the big ones queued behind it); a job passed over `MAX_PASSES` times stops
that, so a big job is never starved by a stream of small ones.

Decoding, validating and running an operation all happen on the pool's threads, never on an
HTTP server's event loop. After a job that took a while, glibc's ``malloc_trim`` hands freed
heap pages back to the system, so the process's resident size falls back between bursts
instead of keeping its peak (a no-op elsewhere).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ..contract.errors import ConfigurationError

__all__ = ["Slot", "WorkPool", "default_workers", "DEFAULT_MEGAPIXELS"]

_T = TypeVar("_T")
#: Jobs at least this long (seconds) are followed by ``malloc_trim``.
TRIM_AFTER = 0.05
_EWMA = 0.3  # weight of the newest job in the mean job time
#: Megapixels (of images, or answers when larger) the running jobs may hold at once (one 16 MP
#: photo and its 16 MP mask, and a few small jobs beside them); a larger job still runs alone.
DEFAULT_MEGAPIXELS = 40.0
#: Times a waiting job that does not fit may be passed by later ones that do; then they wait.
MAX_PASSES = 16


def default_workers() -> int:
    """Worker threads by default: the machine's cores (``os.cpu_count()``), at least 1."""
    return os.cpu_count() or 1


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, or ``None`` where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


_TRIM = _malloc_trim()


class Slot:
    """One request's place in the pool, from its headers to its answer; `release` once.

    Attributes: ``admitted`` (its body is read: it counts against the capacity),
    ``megapixels`` (the weight its job runs with; 1 until the HTTP layer knows better).
    """

    def __init__(self, pool: WorkPool):
        self._pool = pool
        self.released = False
        self.admitted = False
        self.megapixels = 1.0
        self.passes = 0  # later jobs started before it while it waited

    def admit(self) -> bool:
        """Count this request against the capacity (its body is read). False, and nothing
        counted, when ``workers + queue`` are admitted already; true if it was before."""
        return self._pool._admit(self)

    def release(self) -> None:
        """Give the place back (idempotent)."""
        self._pool._release(self)


class WorkPool:
    """``workers`` threads running jobs, with room for ``queue`` more requests waiting.

    Args:
        workers: threads running operations at once; default `default_workers`.
        queue: requests admitted (their bodies read) beyond those running, waiting for a
            thread; default twice ``workers``. ``0`` refuses anything past ``workers``.
        megapixels: megapixels (of input images, or answers when larger) the running jobs
            may hold at once (default `DEFAULT_MEGAPIXELS`); a job larger than that runs
            alone.

    Threads start on first use and end when the pool is garbage-collected or
    `shutdown`.
    """

    def __init__(self, *, workers: int | None = None, queue: int | None = None,
                 megapixels: float = DEFAULT_MEGAPIXELS):
        workers = default_workers() if workers is None else workers
        if not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be a positive int, got {workers!r}")
        queue = 2 * workers if queue is None else queue
        if not isinstance(queue, int) or queue < 0:
            raise ConfigurationError(f"queue must be an int >= 0, got {queue!r}")
        if not megapixels > 0:
            raise ConfigurationError(f"megapixels must be positive, got {megapixels!r}")
        self.workers = workers
        self.queue = queue
        self.megapixels = float(megapixels)
        self._lock = threading.Lock()
        self._taken = 0  # admitted, not yet released
        self._receiving = 0  # entered, body still arriving
        self._running = 0
        self._running_megapixels = 0.0
        self._waiting: deque[tuple[Slot, Callable[[], Any], Future[Any]]] = deque()
        self._executor: ThreadPoolExecutor | None = None
        self._mean_seconds = 1.0  # a guess until jobs are timed
        #: The most slots ever taken at once.
        self.peak = 0

    def __repr__(self) -> str:
        return f"WorkPool(workers={self.workers}, queue={self.queue}, in_use={self.in_use})"

    @property
    def capacity(self) -> int:
        """Requests admitted at once: ``workers + queue``."""
        return self.workers + self.queue

    @property
    def in_use(self) -> int:
        """Requests admitted now (their bodies read, not yet answered)."""
        with self._lock:
            return self._taken

    @property
    def receiving(self) -> int:
        """Requests entered whose bodies are still arriving (they hold no place)."""
        with self._lock:
            return self._receiving

    @property
    def running_megapixels(self) -> float:
        """Megapixels of the jobs running now."""
        with self._lock:
            return self._running_megapixels

    def try_enter(self) -> Slot | None:
        """A receiving slot, or ``None`` when ``capacity`` requests are already admitted."""
        with self._lock:
            if self._taken >= self.capacity:
                return None
            self._receiving += 1
        return Slot(self)

    def _admit(self, slot: Slot) -> bool:
        with self._lock:
            if slot.admitted:
                return True
            if slot.released or self._taken >= self.capacity:
                return False
            slot.admitted = True
            self._receiving -= 1
            self._taken += 1
            self.peak = max(self.peak, self._taken)
            return True

    def _release(self, slot: Slot) -> None:
        with self._lock:
            if not slot.released:
                slot.released = True
                if slot.admitted:
                    self._taken -= 1
                else:
                    self._receiving -= 1

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the admitted work's expected time, 1 to 60."""
        with self._lock:
            wait = self._mean_seconds * self._taken / self.workers
        return max(1, min(60, math.ceil(wait)))

    def submit(self, slot: Slot, job: Callable[[], _T]) -> Future[_T]:
        """Run ``job`` on a worker thread when its turn comes; ``slot`` (admitted now if it
        was not) is released when it ends, however."""
        with self._lock:
            if not slot.admitted and not slot.released:  # the in-process adapter's path
                slot.admitted = True
                self._receiving -= 1
                self._taken += 1
                self.peak = max(self.peak, self._taken)
        future: Future[_T] = Future()
        with self._lock:
            self._waiting.append((slot, job, future))
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        """Start waiting jobs while a thread is free: in order, each that fits the
        megapixels; one that does not is passed (at most `MAX_PASSES` times)."""
        starting = []
        with self._lock:
            passed: list[Slot] = []
            for entry in list(self._waiting):
                slot = entry[0]
                if self._running >= self.workers:
                    break
                if self._running and \
                        self._running_megapixels + slot.megapixels > self.megapixels:
                    if slot.passes >= MAX_PASSES:
                        break  # its turn is next: nobody passes it again
                    passed.append(slot)
                    continue
                for waiting in passed:
                    waiting.passes += 1
                self._waiting.remove(entry)
                starting.append(entry)
                self._running += 1
                self._running_megapixels += slot.megapixels
            if starting and self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers,
                                                    thread_name_prefix="clipdrop-engine")
            executor = self._executor
        for slot, job, future in starting:
            assert executor is not None
            try:
                executor.submit(self._run, slot, job, future)
            except BaseException as exc:  # noqa: BLE001 - shutting down: handed to the caller
                self._finished(slot)
                slot.release()
                future.set_exception(exc)

    def _run(self, slot: Slot, job: Callable[[], _T], future: Future[_T]) -> None:
        start = time.monotonic()
        outcome: tuple[bool, Any] = (False, None)
        try:
            if future.set_running_or_notify_cancel():
                try:
                    outcome = (True, job())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    outcome = (False, exc)
        finally:
            seconds = time.monotonic() - start
            with self._lock:
                self._mean_seconds += _EWMA * (seconds - self._mean_seconds)
            slot.release()
            self._finished(slot)  # accounted before the caller hears of it
            if _TRIM is not None and seconds >= TRIM_AFTER:
                _TRIM()
            self._dispatch()
        if outcome[0]:
            future.set_result(outcome[1])
        elif outcome[1] is not None:
            future.set_exception(outcome[1])

    def _finished(self, slot: Slot) -> None:
        with self._lock:
            self._running -= 1
            self._running_megapixels -= slot.megapixels

    def shutdown(self) -> None:
        """Let running jobs finish and end the threads (the pool starts new ones if used)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
