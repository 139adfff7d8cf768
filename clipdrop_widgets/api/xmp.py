"""XMP packets inside PNG, JPEG and WebP files, added and taken out without re-encoding.

A record must travel inside every picture the package writes, yet the pixels and any metadata
the file already carries (a C2PA manifest, EXIF, an ICC profile) must stay exactly as
received. So nothing here decodes an image: each function walks the file's container
(PNG chunks, JPEG segments, WebP RIFF chunks) and splices one packet in or out:

* PNG: an ``iTXt`` chunk with the keyword ``XML:com.adobe.xmp``, right after ``IHDR``;
* JPEG: an ``APP1`` segment opening with ``http://ns.adobe.com/xap/1.0/``, after ``APP0``
  (JFIF) and an EXIF ``APP1``, which readers expect first. A packet too big for one segment
  (64 KiB) is split as the XMP specification (part 3) says: a standard packet naming the
  MD5 of the rest in ``xmpNote:HasExtendedXMP``, then the *extended XMP* in as many
  ``http://ns.adobe.com/xmp/extension/`` segments as it needs (`add_xmp`'s ``extended``,
  `find_extended`); ExifTool and Adobe's readers join them again;
* WebP: an ``XMP `` chunk at the end, with the ``VP8X`` header's XMP flag set (a simple
  lossy or lossless file gets a ``VP8X`` header first; `remove_xmp` takes it away again).

When the file already carries a packet (a ``dc:creator``, rights), `merge_xmp` puts the record's
block inside it instead, between `BLOCK_OPEN` and `BLOCK_CLOSE`, so its properties stay where
every reader looks. `remove_xmp` undoes `add_xmp` and `merge_xmp` byte for byte, so a result
read back from its file has the bytes (and SHA-256) it arrived with. Only packets containing
``marker`` are ever removed whole: a packet someone else wrote keeps everything but our block.
A compressed packet is never inflated beyond `PACKET_LIMIT` (a dropped picture is untrusted).
`metadata_notes` names the metadata a file carries.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib

from ..contract.errors import ConfigurationError

__all__ = ["add_xmp", "find_xmp", "find_block", "find_extended", "extended_guid", "merge_xmp",
           "remove_xmp", "BLOCK_OPEN", "BLOCK_CLOSE", "metadata_notes", "is_simple_webp",
           "JPEG_XMP_LIMIT", "PACKET_LIMIT", "EXTENDED_LIMIT", "WEBP_WRAPPED", "XMP_NOTE"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEYWORD = b"XML:com.adobe.xmp"
_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
#: The most bytes of packet one JPEG APP1 segment holds.
JPEG_XMP_LIMIT = 65533 - len(_JPEG_XMP)
_JPEG_EXTENDED = b"http://ns.adobe.com/xmp/extension/\x00"
#: Bytes of extended XMP in one segment (the size the XMP specification suggests).
_EXTENDED_CHUNK = 65400
#: The most bytes of extended XMP joined again (ours: about 100 bytes a contact sheet's
#: picture); a larger claim in a dropped picture is not read.
EXTENDED_LIMIT = 16_000_000
#: The namespace of ``xmpNote:HasExtendedXMP``.
XMP_NOTE = "http://ns.adobe.com/xmp/note/"
_HAS_EXTENDED = re.compile(rb'HasExtendedXMP="([0-9A-F]{32})"')
#: The most bytes a compressed packet is inflated to: ours are a few KB, so a larger one (a
#: decompression bomb in a dropped picture) is not read at all.
PACKET_LIMIT = 1_000_000
#: Around the record's ``rdf:Description``, in a packet of ours or one someone else wrote.
BLOCK_OPEN = b"<!-- clipdrop-widgets record -->"
BLOCK_CLOSE = b"<!-- end of the clipdrop-widgets record -->"
_WEBP_XMP_FLAG = 0x04
_WEBP_ALPHA_FLAG = 0x10
#: Written into a packet that made a simple WebP extended, so `remove_xmp` restores it.
WEBP_WRAPPED = b'cdw:WebPWrapped="1"'


def _kind(data: bytes) -> str | None:
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


# -- PNG -------------------------------------------------------------------------------------
def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """``(type, body)`` of every chunk (a truncated tail is dropped)."""
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        chunks.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_packet(kind: bytes, body: bytes) -> bytes | None:
    if kind != b"iTXt" or not body.startswith(_PNG_KEYWORD + b"\x00"):
        return None
    rest = body[len(_PNG_KEYWORD) + 1:]
    compressed, rest = rest[0], rest[2:]
    rest = rest.split(b"\x00", 2)[2]  # past the language tag and the translated keyword
    if not compressed:
        return rest
    inflater = zlib.decompressobj()
    try:
        packet = inflater.decompress(rest, PACKET_LIMIT + 1)  # never more than the limit
    except zlib.error:
        return None
    return None if len(packet) > PACKET_LIMIT else packet


def _png_spans(data: bytes) -> list[tuple[int, int, bytes]]:
    """``(start, end, packet)`` of each XMP chunk."""
    spans, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 12 + length
        if data[pos + 4:pos + 8] == b"iTXt":  # the body is copied only for text chunks
            packet = _png_packet(b"iTXt", data[pos + 8:pos + 8 + length])
            if packet is not None:
                spans.append((pos, end, packet))
        pos = end
    return spans


def _png_add(data: bytes, packet: bytes) -> bytes:
    (length,) = struct.unpack(">I", data[8:12])
    after_ihdr = 8 + 12 + length
    chunk = _png_chunk(b"iTXt", _PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + packet)
    return data[:after_ihdr] + chunk + data[after_ihdr:]


# -- JPEG ------------------------------------------------------------------------------------
def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """``(marker, start, end)`` of the segments before the image data (start of scan)."""
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA or 0xD0 <= marker <= 0xD9:
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segments.append((marker, pos, pos + 2 + length))
        pos += 2 + length
    return segments


def _jpeg_spans(data: bytes) -> list[tuple[int, int, bytes]]:
    return [(start, end, data[start + 4 + len(_JPEG_XMP):end])
            for marker, start, end in _jpeg_segments(data)
            if marker == 0xE1 and data[start + 4:start + 4 + len(_JPEG_XMP)] == _JPEG_XMP]


def extended_guid(extended: bytes) -> str:
    """The GUID naming ``extended`` (a serialized XMP): its MD5 in 32 upper-case hex
    digits, as the XMP specification has it (a name, not a security measure)."""
    return hashlib.md5(extended, usedforsecurity=False).hexdigest().upper()


def _app1(body: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _extended_segments(extended: bytes) -> bytes:
    guid = extended_guid(extended).encode()
    return b"".join(
        _app1(_JPEG_EXTENDED + guid + struct.pack(">II", len(extended), offset)
              + extended[offset:offset + _EXTENDED_CHUNK])
        for offset in range(0, len(extended), _EXTENDED_CHUNK))


def _jpeg_extended_spans(data: bytes) -> list[tuple[int, int, bytes, int, int, bytes]]:
    """``(start, end, guid, full length, offset, piece)`` of each extended XMP segment."""
    head = len(_JPEG_EXTENDED)
    found = []
    for marker, start, end in _jpeg_segments(data):
        body = data[start + 4:end]
        if marker == 0xE1 and body.startswith(_JPEG_EXTENDED) and len(body) >= head + 40:
            full, offset = struct.unpack(">II", body[head + 32:head + 40])
            found.append((start, end, body[head:head + 32], full, offset, body[head + 40:]))
    return found


def find_extended(data: bytes, guid: str) -> bytes | None:
    """The extended XMP named ``guid`` in the JPEG ``data``, its pieces joined in order;
    ``None`` when it is missing, incomplete, larger than `EXTENDED_LIMIT` or not the one
    its MD5 names."""
    pieces = sorted((offset, full, piece) for _s, _e, name, full, offset, piece
                    in _jpeg_extended_spans(data) if name == guid.encode())
    if not pieces or not 0 < pieces[0][1] <= EXTENDED_LIMIT:
        return None
    full, joined, at = pieces[0][1], bytearray(), 0
    for offset, claimed, piece in pieces:
        if claimed != full or offset != at:
            return None
        joined += piece
        at += len(piece)
    return bytes(joined) if at == full and extended_guid(bytes(joined)) == guid else None


def _jpeg_add(data: bytes, packet: bytes, extended: bytes = b"") -> bytes:
    if len(packet) > JPEG_XMP_LIMIT:
        raise ConfigurationError(
            f"an XMP packet of {len(packet)} bytes does not fit one JPEG segment")
    at = 2
    for marker, start, end in _jpeg_segments(data):
        exif = marker == 0xE1 and data[start + 4:start + 10] == b"Exif\x00\x00"
        if marker != 0xE0 and not exif:  # after JFIF (APP0) and EXIF, before the rest
            break
        at = end
    more = _extended_segments(extended) if extended else b""
    return data[:at] + _app1(_JPEG_XMP + packet) + more + data[at:]


# -- WebP ------------------------------------------------------------------------------------
def _webp_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """``(fourcc, start, end)`` of each chunk (end includes the padding byte)."""
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        fourcc = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        end = pos + 8 + size + (size & 1)
        chunks.append((fourcc, pos, end))
        pos = end
    return chunks


def _riff(body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _webp_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1
                                                                  else b"")


def _webp_canvas(data: bytes, fourcc: bytes, start: int) -> tuple[int, int, bool]:
    """Width, height and alpha of a simple WebP's one image chunk."""
    payload = data[start + 8:]
    if fourcc == b"VP8 ":
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    (bits,) = struct.unpack("<I", payload[1:5])  # VP8L: after the 0x2f signature
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)


def _webp_add(data: bytes, packet: bytes) -> bytes:
    chunks = _webp_chunks(data)
    body = data[12:]
    if chunks and chunks[0][0] == b"VP8X":
        start = chunks[0][1]
        flags = data[start + 8] | _WEBP_XMP_FLAG
        body = data[12:start + 8] + bytes([flags]) + data[start + 9:]
    else:
        fourcc, start, _end = chunks[0]
        width, height, alpha = _webp_canvas(data, fourcc, start)
        flags = _WEBP_XMP_FLAG | (_WEBP_ALPHA_FLAG if alpha else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + \
            (height - 1).to_bytes(3, "little")
        body = _webp_chunk(b"VP8X", header) + body
    return _riff(body + _webp_chunk(b"XMP ", packet))


def _webp_spans(data: bytes) -> list[tuple[int, int, bytes]]:
    spans = []
    for fourcc, start, end in _webp_chunks(data):
        if fourcc == b"XMP ":
            (size,) = struct.unpack("<I", data[start + 4:start + 8])
            spans.append((start, end, data[start + 8:start + 8 + size]))
    return spans


def _webp_remove(data: bytes, start: int, end: int, packet: bytes) -> bytes:
    body = data[12:start] + data[end:]
    rest = _riff(body)
    chunks = _webp_chunks(rest)
    if WEBP_WRAPPED in packet and chunks and chunks[0][0] == b"VP8X":
        return _riff(rest[chunks[0][2]:])
    if chunks and chunks[0][0] == b"VP8X" and not any(c[0] == b"XMP " for c in chunks):
        at = chunks[0][1] + 8
        rest = rest[:at] + bytes([rest[at] & ~_WEBP_XMP_FLAG & 0xFF]) + rest[at + 1:]
    return rest


# -- the three together ----------------------------------------------------------------------
def _spans(data: bytes) -> list[tuple[int, int, bytes]]:
    kind = _kind(data)
    if kind == "png":
        return _png_spans(data)
    if kind == "jpeg":
        return _jpeg_spans(data)
    if kind == "webp":
        return _webp_spans(data)
    return []


def add_xmp(data: bytes, packet: bytes, *, extended: bytes = b"") -> bytes:
    """``data`` (a PNG, JPEG or WebP file) with ``packet`` added; other formats unchanged.

    For a simple WebP, ``packet`` should contain `WEBP_WRAPPED` so that `remove_xmp`
    can restore the original bytes (`records` does this). ``extended`` (JPEG only): an
    extended XMP written after the packet, which must name it
    (``xmpNote:HasExtendedXMP="<extended_guid(extended)>"``)."""
    kind = _kind(data)
    if kind == "png":
        return _png_add(data, packet)
    if kind == "jpeg":
        return _jpeg_add(data, packet, extended)
    if kind == "webp":
        return _webp_add(data, packet)
    return data


def is_simple_webp(data: bytes) -> bool:
    """A WebP without a ``VP8X`` header (adding XMP gives it one)."""
    chunks = _webp_chunks(data) if _kind(data) == "webp" else []
    return bool(chunks) and chunks[0][0] != b"VP8X"


def find_xmp(data: bytes, marker: bytes | None = None) -> bytes | None:
    """The first XMP packet in ``data`` (containing ``marker``, when given), or ``None``."""
    for _start, _end, packet in _spans(data):
        if marker is None or marker in packet:
            return packet
    return None


def _rewrap(data: bytes, start: int, end: int, old: bytes, packet: bytes) -> bytes:
    """``data`` with the (uncompressed) XMP packet ``old`` at ``start:end`` replaced by
    ``packet``, in a chunk or segment like the one it was in."""
    kind = _kind(data)
    if kind == "png":
        body = data[start + 8:end - 4]
        return data[:start] + _png_chunk(b"iTXt", body[:len(body) - len(old)] + packet) + \
            data[end:]
    if kind == "jpeg":
        body = _JPEG_XMP + packet
        return data[:start] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[end:]
    return _riff(data[12:start] + _webp_chunk(b"XMP ", packet) + data[end:])


def merge_xmp(data: bytes, block: bytes, *, extended: bytes = b"") -> bytes | None:
    """``data`` with ``block`` (an ``rdf:Description``) added inside the XMP packet the file
    already carries, so that packet's own properties (``dc:creator``, rights) stay where
    every reader looks; ``None`` when there is no such packet or it cannot take the block (a
    compressed PNG packet, no ``</rdf:RDF>``, more than one JPEG segment holds).
    ``extended`` (JPEG only): an extended XMP written right after that packet, which
    ``block`` must name (``xmpNote:HasExtendedXMP``); ``None`` when the packet names one of
    its own already. `remove_xmp` takes the block (and its extended XMP) out again, byte for
    byte."""
    spans = _spans(data)
    if not spans:
        return None
    start, end, old = spans[0]
    compressed = _kind(data) == "png" and data[start + 8 + len(_PNG_KEYWORD) + 1] != 0
    at = old.rfind(b"</rdf:RDF>")
    if compressed or at < 0 or BLOCK_OPEN in old:
        return None
    packet = old[:at] + BLOCK_OPEN + block + BLOCK_CLOSE + old[at:]
    if _kind(data) == "jpeg" and len(packet) > JPEG_XMP_LIMIT:
        return None
    if extended:
        if _kind(data) != "jpeg" or _HAS_EXTENDED.search(old):
            return None
        merged = _rewrap(data, start, end, old, packet)
        at = end + len(packet) - len(old)  # the end of the rewritten segment
        return merged[:at] + _extended_segments(extended) + merged[at:]
    return _rewrap(data, start, end, old, packet)


def _block_span(packet: bytes) -> tuple[int, int] | None:
    first = packet.find(BLOCK_OPEN)
    last = packet.find(BLOCK_CLOSE, first) if first >= 0 else -1
    return (first, last + len(BLOCK_CLOSE)) if last >= 0 else None


def find_block(data: bytes) -> bytes | None:
    """What lies between `BLOCK_OPEN` and `BLOCK_CLOSE` in the first packet holding them."""
    for _start, _end, packet in _spans(data):
        span = _block_span(packet)
        if span is not None:
            return packet[span[0] + len(BLOCK_OPEN):span[1] - len(BLOCK_CLOSE)]
    return None


def remove_xmp(data: bytes, marker: bytes) -> bytes:
    """``data`` without the XMP packets containing ``marker`` and without a block
    `merge_xmp` added to another packet: exactly as before `add_xmp` or `merge_xmp`. A
    packet someone else wrote is left as it came, whatever it holds; the extended XMP a
    removed JPEG packet names goes with it."""
    extended: set[bytes] = set()
    for start, end, packet in reversed(_spans(data)):
        span = _block_span(packet)
        if marker not in packet and span is not None:
            extended.update(_HAS_EXTENDED.findall(packet[span[0]:span[1]]))
            original = packet[:span[0]] + packet[span[1]:]
            data = _rewrap(data, start, end, packet, original)
        elif marker not in packet:
            continue
        elif _kind(data) == "webp":
            data = _webp_remove(data, start, end, packet)
        else:
            extended.update(_HAS_EXTENDED.findall(packet))
            data = data[:start] + data[end:]
    if extended and _kind(data) == "jpeg":
        for start, end, guid, *_rest in reversed(_jpeg_extended_spans(data)):
            if guid in extended:
                data = data[:start] + data[end:]
    return data


def metadata_notes(data: bytes, *, ignore: bytes | None = None) -> list[str]:
    """The kinds of metadata ``data`` carries: ``"C2PA"``, ``"XMP"``, ``"EXIF"``, ``"ICC
    profile"`` (in that order, each once); an XMP packet containing ``ignore`` is not counted."""
    found: set[str] = set()
    kind = _kind(data)
    if kind == "png":
        for chunk, body in _png_chunks(data):
            packet = _png_packet(chunk, body)
            if chunk == b"caBX":
                found.add("C2PA")
            elif packet is not None and not (ignore and ignore in packet):
                found.add("XMP")
            elif chunk == b"eXIf":
                found.add("EXIF")
            elif chunk == b"iCCP":
                found.add("ICC profile")
    elif kind == "jpeg":
        for marker, start, end in _jpeg_segments(data):
            head = data[start + 4:start + 34]
            if marker == 0xEB and b"c2pa" in data[start:end]:
                found.add("C2PA")
            elif marker == 0xE1 and head.startswith(_JPEG_XMP):
                if not (ignore and ignore in data[start:end]):
                    found.add("XMP")
            elif marker == 0xE1 and head.startswith(b"Exif\x00"):
                found.add("EXIF")
            elif marker == 0xE2 and head.startswith(b"ICC_PROFILE"):
                found.add("ICC profile")
    elif kind == "webp":
        names = {b"C2PA": "C2PA", b"EXIF": "EXIF", b"ICCP": "ICC profile"}
        for fourcc, start, end in _webp_chunks(data):
            if fourcc == b"XMP ":
                if not (ignore and ignore in data[start:end]):
                    found.add("XMP")
            elif fourcc in names:
                found.add(names[fourcc])
    return [name for name in ("C2PA", "XMP", "EXIF", "ICC profile") if name in found]
