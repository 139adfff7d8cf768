"""The API key: held so that no repr shows it, and cut out of every text shown to people.

A server may echo the key it was sent (an error text quoting the request, a ``Location``
naming it), in any case, URL-encoded, hex or base64-encoded (a ``Basic`` credential, a
token), as HTML character references, or broken across lines (``\n``, ``\r\n `` header
folding, or those escaped in JSON). `Secret.redact` is the one function that removes it.
A key shorter than `MIN_KEY_LENGTH` (a real key is far longer) is cut out only where it
stands as a whole word, as is: cutting ``"0"`` out of every number would garble the very
text that explains the error (``5******: internal``). It is for text shown to people
(exception messages, the response kept on an exception, reprs, widget state, logs, run logs
and session files), never for protocol fields: headers such as ``Content-Type`` and an
image's bytes are parsed as received (a key ``"a"`` must not turn ``image/png`` into
``im***ge/png``).
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import TypeVar

from ..contract.errors import ConfigurationError, ConfigurationTypeError

__all__ = ["Secret", "clean_key", "MASK"]

#: What stands where the key was.
MASK = "***"
#: Keys shorter than this are redacted only as a whole word, in no other form.
MIN_KEY_LENGTH = 8
#: What may stand between two characters of a key broken across lines: a line break (with
#: a header fold's indent) as is or escaped in JSON (once or more).
_BREAK = r"(?:(?:\r\n?|\n|(?:\\+r)?\\+n)[ \t]*)?"
#: Shortest base64 fragment of the key that is cut out: shorter ones occur by chance.
MIN_BASE64_FRAGMENT = 6

_Text = TypeVar("_Text", str, bytes)


def base64_fragments(value: bytes) -> set[str]:
    """What every base64 text that encodes ``value`` contains, wherever ``value`` starts.

    A base64 character carries 6 bits: which characters ``value`` decides depends on where it
    falls in a 3-byte group, so each of the three alignments gives one fragment (standard and
    URL-safe alphabets); fragments shorter than `MIN_BASE64_FRAGMENT` are left out.
    """
    found: set[str] = set()
    for offset in range(3):
        first = -(-8 * offset // 6)  # the first character made of the value's bits only
        last = 8 * (offset + len(value)) // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            fragment = encode(b"\0" * offset + value).decode("ascii")[first:last]
            if len(fragment) >= MIN_BASE64_FRAGMENT:
                found.add(fragment)
    return found


def _pattern(value: str) -> str:
    """A regular expression for ``value`` as a server may write it back: as is or with any
    of its characters URL-encoded or as HTML character references, broken across lines, in
    a JSON string, in HTML, as hex, in any case (matched case-insensitively), and
    base64-encoded (matched exactly)."""
    per_char = _BREAK.join(
        f"(?:{re.escape(c)}|%{ord(c):02x}|&#0*{ord(c)};|&#x0*{ord(c):x};)" for c in value)
    plain = {json.dumps(value)[1:-1], html.escape(value), value.encode("utf-8").hex()} - {value}
    encoded = base64_fragments(value.encode("utf-8"))
    pattern = "|".join([per_char] + [re.escape(f) for f in plain])
    fragments = "|".join(re.escape(f) for f in sorted(encoded, key=len, reverse=True))
    return f"(?i:{pattern})" + (f"|{fragments}" if fragments else "")


def _word(value: str) -> str:
    """A regular expression for a short ``value`` standing alone: not inside a longer word
    or number (so ``500`` keeps its zeros with a key ``"0"``)."""
    return rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])"


class Secret:
    """Holds the API key; its repr never shows it."""

    __slots__ = ("_bytes", "_text", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        text = _pattern(value) if len(value) >= MIN_KEY_LENGTH else _word(value)
        self._text = re.compile(text)
        self._bytes = re.compile(text.encode("utf-8"))

    def reveal(self) -> str:
        return self._value

    def redact(self, text: _Text) -> _Text:
        """``text`` (str or bytes) with every form of the key replaced by ``***``."""
        if isinstance(text, bytes):
            text = self._bytes.sub(MASK.encode(), text)
            if len(self._value) < MIN_KEY_LENGTH:
                return text
            for codec in ("utf-16-le", "utf-16-be"):  # EXIF's Windows fields
                text = text.replace(self._value.encode(codec, "surrogatepass"),
                                    MASK.encode(codec))
            return text
        return self._text.sub(MASK, text)

    def found_in(self, data: bytes) -> bool:
        """Whether ``data`` (an answer's bytes) carries the key in any form `redact` removes,
        or as UTF-16 (EXIF's Windows fields). A key shorter than `MIN_KEY_LENGTH` is never
        looked for: picture bytes hold short strings by chance."""
        if len(self._value) < MIN_KEY_LENGTH:
            return False
        if self._bytes.search(data) is not None:
            return True
        return any(self._value.encode(codec, "surrogatepass") in data
                   for codec in ("utf-16-le", "utf-16-be"))

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
