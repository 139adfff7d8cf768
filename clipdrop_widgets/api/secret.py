"""The API key: held so that no repr shows it, and cut out of every text a server sends back.

A server may echo the key it was sent (an error text quoting the request, a ``Location``
naming it): `Secret.redact` is the one function that removes it, applied by the client
where a server's text enters (answer bodies of errors, headers, connection error texts), so
exceptions, logs, status lines and run logs built from them never hold it.
"""

from __future__ import annotations

import html
import json
from typing import TypeVar
from urllib.parse import quote

from ..contract.errors import ConfigurationError, ConfigurationTypeError

__all__ = ["Secret", "clean_key", "MASK"]

#: What stands where the key was.
MASK = "***"

_Text = TypeVar("_Text", str, bytes)


class Secret:
    """Holds the API key; its repr never shows it."""

    __slots__ = ("_forms", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        # The key as a server may write it back: as is, URL-encoded, in a JSON string, in HTML.
        forms = {value, quote(value, safe=""), json.dumps(value)[1:-1], html.escape(value)}
        self._forms = sorted(forms, key=len, reverse=True)

    def reveal(self) -> str:
        return self._value

    def redact(self, text: _Text) -> _Text:
        """``text`` (str or bytes) with every form of the key replaced by ``***``."""
        if isinstance(text, bytes):
            for form in self._forms:
                text = text.replace(form.encode("utf-8"), MASK.encode())
            return text
        for form in self._forms:
            text = text.replace(form, MASK)
        return text

    def __repr__(self) -> str:
        return "'***'"


def clean_key(value: str | None) -> Secret | None:
    """The key, stripped of surrounding white space; ``None`` if empty; refused if malformed.

    An empty key means no key (the user pressed Enter at ``getpass()``): the local engine.

    A key pasted or read from a file often ends in a newline; sent as is it would make the
    HTTP library raise an error quoting the header's value, key included.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationTypeError(f"api_key must be a string, not {type(value).__name__}")
    key = value.strip()
    if not key:
        return None
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise ConfigurationError("api_key contains spaces or characters that cannot be sent in an "
                         "HTTP header; check how it was copied (the key is not shown)")
    return Secret(key)
