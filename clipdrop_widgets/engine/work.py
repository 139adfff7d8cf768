"""Bounded work: a pool of worker threads and a bounded queue of requests waiting for them.

A request takes a `Slot` when its headers pass (before its body is read) and gives it
back once answered; `WorkPool.try_enter` returns ``None`` when every slot is taken, and
the HTTP layer answers 503 with `WorkPool.retry_after`. So memory is bounded by
``workers`` operations in progress plus ``queue`` bodies waiting, however many clients call.

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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ..contract.errors import ConfigurationError

__all__ = ["Slot", "WorkPool", "default_workers"]

_T = TypeVar("_T")
#: Jobs at least this long (seconds) are followed by ``malloc_trim``.
TRIM_AFTER = 0.05
_EWMA = 0.3  # weight of the newest job in the mean job time


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
    """One request's place in the pool, from admission to its answer; `release` once."""

    def __init__(self, pool: WorkPool):
        self._pool = pool
        self.released = False

    def release(self) -> None:
        """Give the place back (idempotent)."""
        self._pool._release(self)


class WorkPool:
    """``workers`` threads running jobs, with room for ``queue`` more requests waiting.

    Args:
        workers: threads running operations at once; default `default_workers`.
        queue: requests admitted beyond those running (reading their body or waiting for a
            thread); default twice ``workers``. ``0`` refuses anything past ``workers``.

    Threads start on first use and end when the pool is garbage-collected or
    `shutdown`.
    """

    def __init__(self, *, workers: int | None = None, queue: int | None = None):
        workers = default_workers() if workers is None else workers
        if not isinstance(workers, int) or workers < 1:
            raise ConfigurationError(f"workers must be a positive int, got {workers!r}")
        queue = 2 * workers if queue is None else queue
        if not isinstance(queue, int) or queue < 0:
            raise ConfigurationError(f"queue must be an int >= 0, got {queue!r}")
        self.workers = workers
        self.queue = queue
        self._lock = threading.Lock()
        self._taken = 0
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
        """Slots taken now."""
        with self._lock:
            return self._taken

    def try_enter(self) -> Slot | None:
        """A slot, or ``None`` when ``capacity`` requests are already admitted."""
        with self._lock:
            if self._taken >= self.capacity:
                return None
            self._taken += 1
            self.peak = max(self.peak, self._taken)
        return Slot(self)

    def _release(self, slot: Slot) -> None:
        with self._lock:
            if not slot.released:
                slot.released = True
                self._taken -= 1

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the admitted work's expected time, 1 to 60."""
        with self._lock:
            wait = self._mean_seconds * self._taken / self.workers
        return max(1, min(60, math.ceil(wait)))

    def submit(self, slot: Slot, job: Callable[[], _T]) -> Future[_T]:
        """Run ``job`` on a worker thread; ``slot`` is released when it ends, however."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers,
                                                    thread_name_prefix="clipdrop-engine")
            executor = self._executor
        try:
            return executor.submit(self._run, slot, job)
        except BaseException:
            slot.release()
            raise

    def _run(self, slot: Slot, job: Callable[[], _T]) -> _T:
        start = time.monotonic()
        try:
            return job()
        finally:
            seconds = time.monotonic() - start
            with self._lock:
                self._mean_seconds += _EWMA * (seconds - self._mean_seconds)
            slot.release()
            if _TRIM is not None and seconds >= TRIM_AFTER:
                _TRIM()

    def shutdown(self) -> None:
        """Let running jobs finish and end the threads (the pool starts new ones if used)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
