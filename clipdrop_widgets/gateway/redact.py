"""The room's key out of anything the gateway repeats from the upstream.

The gateway writes its own error bodies; when it quotes the upstream's message (a seat deserves
to know why the service refused its picture), it first removes the room's key and its obvious
transforms: any letter case, URL-encoding, base64 (standard and URL-safe, at any alignment) and
hex. Whatever still decodes to the key after that is not quoted at all, and neither is a
message that shows the key once normalised (`shows_key`: lower case, ``\\uXXXX``/``%XX``/HTML
escapes decoded, whitespace and separators removed, read both ways): a hex dump, a key split by a
line wrap or written backwards. Then the whole quote is replaced by `WITHHELD`.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import urllib.parse
import zlib
from collections.abc import Iterator

__all__ = ["redact", "quote_upstream", "shows_key", "carries_key", "REDACTED", "WITHHELD"]

REDACTED = "[room key removed]"
WITHHELD = "the service's message was withheld: it quoted the room key"
#: Characters of the upstream's message a seat may see.
QUOTE_LIMIT = 300
_TOKEN = re.compile(r"[A-Za-z0-9+/=_%.~-]{8,}")


def _b64_forms(key: bytes) -> set[str]:
    """The key as it appears inside any base64 text, whatever bytes precede it."""
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + key).decode()
        # Characters whose 6 bits all come from the key, not from what precedes or follows.
        stable = encoded[-(-8 * shift // 6):(8 * (shift + len(key))) // 6]
        for text in (stable, stable.replace("+", "-").replace("/", "_")):
            if len(text) >= 8:
                forms.add(text)
    return forms


def _forms(key: str) -> set[str]:
    raw = key.encode("utf-8")
    forms = {key, urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key), raw.hex()}
    forms |= _b64_forms(raw)
    return {f for f in forms if f}


def _decodes_to_key(token: str, key: str) -> bool:
    lowered = key.lower()
    candidates = [urllib.parse.unquote_plus(token)]
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        for pad in ("", "=", "=="):
            try:
                candidates.append(decode(token + pad).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                continue
    return any(lowered in c.lower() for c in candidates)


_ESCAPE = re.compile(r"\\u\{?([0-9a-fA-F]{4})\}?|\\x([0-9a-fA-F]{2})")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _unescape(text: str) -> str:
    def one(match: re.Match) -> str:
        return chr(int(match.group(1) or match.group(2), 16))
    for _ in range(3):  # nested escapes (``%5Cu0052``) come apart one layer at a time
        text = html.unescape(urllib.parse.unquote_plus(_ESCAPE.sub(one, text)))
    return text


def _squeezed(text: str) -> str:
    """Lower case, letters and digits only."""
    return _NOT_ALNUM.sub("", text.lower())


def shows_key(text: str, key: str | None) -> bool:
    """Whether ``text`` carries ``key`` (or its reverse, hex or base64 at any alignment) once
    escapes are decoded, case ignored and everything but letters and digits removed."""
    if not key:
        return False
    raw = key.encode("utf-8")
    needles = {_squeezed(f) for f in (key, key[::-1], raw.hex(), raw[::-1].hex(),
                                      *_b64_forms(raw), *_b64_forms(raw[::-1]))}
    needles = {n for n in needles if len(n) >= 8}
    if not needles:
        return False
    plain = _squeezed(_unescape(text))
    return any(n in plain or n in plain[::-1] for n in needles)


def redact(text: str, key: str | None) -> str:
    """``text`` without ``key`` in any of its obvious transforms (case ignored)."""
    if not key:
        return text
    for form in sorted(_forms(key), key=len, reverse=True):
        text = re.sub(re.escape(form), REDACTED, text, flags=re.IGNORECASE)
    return text


def quote_upstream(body: bytes, key: str | None) -> str:
    """The upstream's error message, safe to show a seat: its ``error`` field (or its text),
    printable, at most `QUOTE_LIMIT` characters, without the room's key; `WITHHELD` instead
    when the key still decodes from a token after redaction or shows once normalised."""
    text = body[:64 * 1024].decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
            text = parsed["error"]
    except ValueError:
        pass
    text = redact("".join(c if c.isprintable() else " " for c in text), key)
    if key and (any(_decodes_to_key(t, key) for t in _TOKEN.findall(text))
                or shows_key(text, key)):
        return WITHHELD
    text = " ".join(text.split())
    return text[:QUOTE_LIMIT] + ("..." if len(text) > QUOTE_LIMIT else "")


def carries_key(body: bytes, key: str | None) -> bool:
    """Whether an answer's bytes (an image, metadata included) carry the room's ``key``: as
    written, in either case, backwards, as UTF-16 (EXIF's Windows fields), hex or base64. An
    echoing or misbehaving upstream could write it into a picture's XMP or EXIF, which the
    gateway would hand to a seat and cache for others (att23 #4)."""
    if not key or len(key) < 8:  # picture bytes hold short strings by chance
        return False
    raw = key.encode("utf-8", "surrogatepass")
    forms = {key, key.lower(), key.upper(), key[::-1]}
    needles = {f.encode("utf-8", "surrogatepass") for f in forms}
    needles |= {f.encode("utf-16-le", "surrogatepass") for f in forms}
    needles |= {f.encode("utf-16-be", "surrogatepass") for f in forms}
    needles |= {raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw).rstrip(b"=")}
    return any(needle in text for text in (body, *_texts_inside(body)) for needle in needles)


#: The most bytes one compressed PNG text chunk is inflated to when looking for the key.
_INFLATE_LIMIT = 1 << 20


def _texts_inside(body: bytes) -> Iterator[bytes]:
    """Text a byte search of a picture would miss (att23b N2): a PNG's compressed text chunks
    (``zTXt``, compressed ``iTXt``) inflated, up to `_INFLATE_LIMIT` bytes each, and XMP
    packets with their XML character references (``&#97;``) decoded."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        pos = 8
        while pos + 8 <= len(body):
            length = int.from_bytes(body[pos:pos + 4], "big")
            kind, data = body[pos + 4:pos + 8], body[pos + 8:pos + 8 + length]
            pos += 12 + length
            if kind == b"zTXt":
                yield _inflate(data.partition(b"\0")[2][1:])
            elif kind == b"iTXt":
                rest = data.partition(b"\0")[2]
                if rest[:1] == b"\x01":  # compressed
                    rest = rest[2:].partition(b"\0")[2]  # past the language tag
                    yield _inflate(rest.partition(b"\0")[2])  # past the translated keyword
    start = body.find(b"<x:xmpmeta")
    while start != -1:
        end = body.find(b"</x:xmpmeta>", start)
        end = len(body) if end == -1 else end
        packet = body[start:end]
        if b"&" in packet:
            yield html.unescape(packet.decode("utf-8", "replace")).encode("utf-8")
        start = body.find(b"<x:xmpmeta", end)


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, _INFLATE_LIMIT)
    except zlib.error:
        return b""
