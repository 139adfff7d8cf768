"""The room pays once: identical requests answered from memory, or by waiting for the first.

Two requests are identical when they go to the same path, negotiate the same content type from
their ``Accept``, and carry the same text fields and the same file bytes, whatever the multipart
boundary, field order, file names or part headers: the key is computed from the parsed form.
Only successful answers are kept, least recently used first out past ``max_bytes``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["Answer", "SharedCache", "request_key"]

#: Bytes of images the cache keeps by default (256 MB).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """An upstream answer: ``status``, the headers worth passing on, and the ``body``."""

    status: int
    headers: dict[str, str]
    body: bytes


def request_key(path: str, content_type: str, texts: dict[str, str],
                files: dict[str, bytes]) -> str:
    """The cache key of a parsed request (SHA-256, hex)."""
    digest = hashlib.sha256()
    head = {"path": path, "accept": content_type, "texts": sorted(texts.items()),
            "files": sorted((name, hashlib.sha256(data).hexdigest())
                            for name, data in files.items())}
    digest.update(json.dumps(head, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


class SharedCache:
    """Answers by request key, plus the calls in flight that identical requests can wait for.

    Used from the gateway's asyncio loop only.
    """

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._bytes = 0
        self._in_flight: dict[str, asyncio.Future[Answer]] = {}
        self.hits = 0

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: str) -> Answer | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
            self.hits += 1
        return answer

    def put(self, key: str, answer: Answer) -> None:
        if answer.status != 200 or len(answer.body) > self.max_bytes or key in self._answers:
            return
        self._answers[key] = answer
        self._bytes += len(answer.body)
        while self._bytes > self.max_bytes:
            _, old = self._answers.popitem(last=False)
            self._bytes -= len(old.body)

    def in_flight(self, key: str) -> asyncio.Future[Answer] | None:
        """The future of an identical call already on its way, if any."""
        return self._in_flight.get(key)

    def lead(self, key: str) -> asyncio.Future[Answer]:
        """Mark this request as the one that calls upstream; others wait on the future."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        return future

    def finish(self, key: str, answer: Answer | None) -> None:
        """The leading call ended with ``answer`` (``None``: it never got one)."""
        future = self._in_flight.pop(key, None)
        if answer is not None:
            self.put(key, answer)
        if future is not None and not future.done():
            if answer is None:
                future.cancel()
            else:
                future.set_result(answer)
