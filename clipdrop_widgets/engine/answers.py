"""Answers in the contract's shape: an HTTP status, headers and bytes; errors as JSON.

The contract answers every error with ``Content-Type: application/json`` and the body
``{"error": "..."}``. The engine's core, its tornado server and its ``requests`` adapter all
build answers here, so a refusal reads the same over any transport.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

__all__ = ["EngineResponse", "json_error", "reason"]


def reason(status: int) -> str:
    """The standard reason phrase of ``status`` (``"Bad Request"``), or ``""``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


@dataclass(frozen=True)
class EngineResponse:
    """One answer: HTTP ``status``, ``headers`` (without Content-Length) and the ``body``."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def reason(self) -> str:
        """The status's standard reason phrase (``"Bad Request"``)."""
        return reason(self.status)


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None,
               ) -> EngineResponse:
    """An error answer: ``{"error": message}`` as JSON, with ``headers`` added."""
    body = json.dumps({"error": message}).encode()
    return EngineResponse(status, {"Content-Type": "application/json", **(headers or {})}, body)
