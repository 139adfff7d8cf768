"""Every picture says how it was made: a record inside each image file the package writes.

A downloaded or shared picture keeps its history only if the history is inside the file. The
record (operation, prompt, template and values for a sweep, options, inputs by SHA-256, which
result fed it, credits, time, package version, service or local engine) is written as an XMP
packet (`xmp` places it in PNG, JPEG and WebP without re-encoding), readable by ExifTool and
any XMP reader. It also carries IPTC's digital source type, the machine-readable "made by a
generative model" mark laws ask for (EU AI Act art. 50(2), California SB 942):
``trainedAlgorithmicMedia`` for a picture made from a prompt,
``compositeWithTrainedAlgorithmicMedia`` for an edit of a photo.

The record is built only from fields chosen here (never the client, whose key stays out), and
an input's own metadata (a C2PA manifest, EXIF) is named in the record, never touched: inputs
are stored as they were given.

>>> from clipdrop_widgets import read_record
>>> read_record("images/text_to_image-20261130-194012.png")["prompt"]   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from .._version import __version__
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError, ConfigurationTypeError
from . import xmp
from .notices import notify
from .result import Result

__all__ = ["read_record", "record_of", "with_record", "strip_record", "recorded_bytes",
           "options_of", "typed_options", "digital_source_type", "SECRET_NAMES", "IPTC_PROMPT_MADE",
           "IPTC_EDIT", "NAMESPACE"]

#: IPTC digital source type of a picture made from a prompt (text or sketch and text).
IPTC_PROMPT_MADE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#: IPTC digital source type of a photo edited by a generative model.
IPTC_EDIT = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
#: The XMP namespace of this package's record (prefix ``cdw``).
NAMESPACE = "https://clipdrop-widgets.readthedocs.io/ns/record/1.0/"
#: Option names never written anywhere, whatever a result's inputs hold.
SECRET_NAMES = frozenset({"api_key", "x-api-key", "apikey", "key", "authorization"})
#: Written into a record when the picture carries a C2PA manifest: adding the record changes
#: the bytes its signature covers (an edit of a signed picture is a new asset anyway).
C2PA_NOTE = ("this picture carried a C2PA manifest; adding this record changed the bytes it "
             "signs, so the manifest no longer validates for this file")
#: What identifies a packet we wrote whole (a packet that only holds our record beside its
#: own properties keeps them: `xmp.merge_xmp`).
_MARKER = b"<!-- clipdrop-widgets packet -->"
_INPUT_FROM = "input_from"
#: The largest packet `read_record` parses (a dropped picture is untrusted): ours are a few KB.
_PACKET_LIMIT = xmp.PACKET_LIMIT
_DECIMAL = re.compile(r"[+-]?[0-9]{1,12}")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def digital_source_type(operation: str) -> str:
    """IPTC's digital source type for a result of ``operation``: an edit of a photo when the
    operation takes one (``image_file``), else made from a prompt."""
    ep = ENDPOINTS.get(operation)
    edits = ep is not None and any(f.role == "image" for f in ep.file_fields)
    return IPTC_EDIT if edits else IPTC_PROMPT_MADE


def _prompt_name(operation: str) -> str | None:
    ep = ENDPOINTS.get(operation)
    field = ep.prompt_field if ep is not None else None
    return field.name if field is not None else None


def options_of(result: Result) -> dict[str, str | int | float]:
    """The options a result was made with: its text and number inputs but the prompt, the
    files, where the input came from and anything named like a secret; each with its JSON
    type (`typed_options`: ``{"seed": 7}``, not ``"7"``)."""
    prompt = _prompt_name(result.endpoint)
    return typed_options(result.endpoint, {
        k: v for k, v in result.inputs.items()
        if k not in result.files and k not in (prompt, _INPUT_FROM)
        and k.lower() not in SECRET_NAMES and isinstance(v, (str, int, float))})


def typed_options(operation: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with each integer field of ``operation`` (``seed``, ``extend_left``,
    ``target_width``) as a JSON number where it is decimal text, as the form sends it and
    as earlier records kept it; anything else as it is."""
    ep = ENDPOINTS.get(operation)
    ints = {f.name for f in ep.int_fields} if ep is not None else set()
    return {k: int(v) if k in ints and isinstance(v, str) and _DECIMAL.fullmatch(v.strip())
            else v for k, v in options.items()}


def record_of(result: Result, *, template: str | None = None,
              values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The record of ``result``, as written into its file.

    Keys: ``operation``, ``prompt`` (``None`` without one), ``template`` and ``values`` (a
    sweep's; else ``None``), ``options`` (with ``format`` where the operation lets one
    choose it), ``inputs`` (by form field: ``sha256``, a record of
    ours left out, and the ``metadata`` the input file carried, such as ``["C2PA",
    "EXIF"]``), ``input_from``,
    ``credits``, ``created`` (ISO 8601, local time with offset), ``engine`` (``"service"`` or
    ``"local engine"``), ``package``, ``digital_source_type``, ``sha256`` (of the image as
    received, without the record) and ``metadata`` (what the received image itself carried).
    """
    prompt = _prompt_name(result.endpoint)
    inputs = {name: {"sha256": hashlib.sha256(strip_record(data)).hexdigest(),
                     "metadata": xmp.metadata_notes(strip_record(data))}
              for name, data in result.files.items()}
    came_from = result.inputs.get(_INPUT_FROM)
    options = options_of(result)
    ep = ENDPOINTS.get(result.endpoint)
    if ep is not None and ep.accept and "format" not in options:
        options["format"] = result.format  # the format asked for is the one received
    return {
        "operation": result.endpoint,
        "prompt": result.inputs.get(prompt) if prompt else None,
        "template": template,
        "values": dict(values) if values is not None else None,
        "options": options,
        "inputs": inputs,
        "input_from": str(came_from) if came_from else None,
        "credits": result.credits_consumed,
        "created": _iso_time(result.created),
        "engine": result.source,
        "package": f"clipdrop-widgets {__version__}",
        "digital_source_type": digital_source_type(result.endpoint),
        "sha256": hashlib.sha256(result.data).hexdigest(),
        "metadata": xmp.metadata_notes(result.data),
    }


def _iso_time(seconds: float) -> str:
    """``seconds`` as ISO 8601 local time with a ``+HH:MM`` offset, as XMP dates need."""
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def _text(value: Any) -> str:
    return _XML_BAD.sub("", str(value))


def _description(record: Mapping[str, Any], *, wrapped: bool, short: bool = False,
                 beside: bytes = b"", extended: str | None = None) -> str:
    """An ``rdf:Description`` holding ``record``: a few fields as plain properties (so any
    XMP reader shows them) and the whole record as JSON in ``cdw:Record``. A plain property
    the packet ``beside`` it already has (its own ``xmp:CreateDate``) is left to that packet.
    ``extended``: the GUID of the JPEG's extended XMP (``xmpNote:HasExtendedXMP``)."""
    prompt = record.get("prompt")
    plain = {
        "Iptc4xmpExt:DigitalSourceType": record.get("digital_source_type"),
        "xmp:CreatorTool": record.get("package"),
        "xmp:CreateDate": record.get("created"),
        "cdw:Operation": record.get("operation"),
        "cdw:Engine": record.get("engine"),
        "cdw:Credits": record.get("credits"),
        "cdw:Prompt": None if short else prompt,
        "cdw:Template": None if short else record.get("template"),
    }
    attrs = "".join(f"\n   {name}={quoteattr(_text(value))}" for name, value in plain.items()
                    if value is not None and name.split(":")[1].encode() not in beside)
    if wrapped:
        attrs += "\n   " + xmp.WEBP_WRAPPED.decode()
    if extended is not None:
        attrs += (f'\n   xmlns:xmpNote="{xmp.XMP_NOTE}"'
                  f'\n   xmpNote:HasExtendedXMP="{extended}"')
    body = json.dumps(dict(record), ensure_ascii=True, separators=(",", ":"))
    description = "" if short or not prompt or b"description" in beside else (
        "\n   <dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">"
        f"{escape(_text(prompt))}</rdf:li></rdf:Alt></dc:description>")
    return (
        '<rdf:Description rdf:about=""\n'
        '   xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        '   xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '   xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '   xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'   xmlns:cdw="{NAMESPACE}"{attrs}\n'
        f'   cdw:Record={quoteattr(body)}>{description}\n'
        '  </rdf:Description>'
    )


def _block(record: Mapping[str, Any], **how: Any) -> str:
    """`_description` between the markers that let `read_record` find it and `strip_record`
    take it out of a packet someone else wrote."""
    return (xmp.BLOCK_OPEN + _description(record, **how).encode() + xmp.BLOCK_CLOSE).decode()


def _packet(record: Mapping[str, Any], *, wrapped: bool, short: bool = False,
            extended: str | None = None) -> bytes:
    """An XMP packet of its own holding ``record`` (see `_description`)."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'{_MARKER.decode()}\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  {_block(record, wrapped=wrapped, short=short, extended=extended)}\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="r"?>'
    ).encode()


def with_record(data: bytes, record: Mapping[str, Any]) -> bytes:
    """``data`` (a PNG, JPEG or WebP file) with ``record`` inside, pixels and other metadata
    untouched; an earlier record of ours is replaced. Other formats come back unchanged."""
    data = strip_record(data)
    if "C2PA" in xmp.metadata_notes(data):
        record = {**record, "c2pa": C2PA_NOTE}
    theirs = xmp.find_xmp(data)
    if not data.startswith(b"\xff\xd8"):  # PNG, WebP: one packet, at most what we read
        record = _within_read_limit(record, len(theirs or b""))
    if theirs is not None:  # keep their packet, with ours inside it
        merged = xmp.merge_xmp(data, _description(record, wrapped=False,
                                                  beside=theirs).encode())
        if merged is not None:
            return merged
        if data.startswith(b"\xff\xd8"):  # a JPEG's packet is one segment: never add a second
            return _beside_theirs(data, theirs, record)
    wrapped = xmp.is_simple_webp(data)
    packet = _packet(record, wrapped=wrapped)
    if data.startswith(b"\xff\xd8") and len(packet) > xmp.JPEG_XMP_LIMIT:  # 64 KiB a segment
        compact, bare = _shrunk(record)
        packet = _packet(compact, wrapped=False, short=True)
        if len(packet) > xmp.JPEG_XMP_LIMIT:  # the whole record in the extended XMP
            extended = _extended_packet(record)
            guid = xmp.extended_guid(extended)
            packet = _packet({**bare, _EXTENDED: guid}, wrapped=False, short=True,
                             extended=guid)
            return xmp.add_xmp(data, packet, extended=extended)
    return xmp.add_xmp(data, packet)


def _beside_theirs(data: bytes, theirs: bytes, record: Mapping[str, Any]) -> bytes:
    """A JPEG whose own XMP packet cannot take our record: the whole record goes in the
    extended XMP, and their packet gets only a short pointer naming it (two standard packets
    make readers warn "Duplicate XMP" and hide one). When even the pointer does not fit,
    the file is left as it came, and a `ClipdropNotice` says the picture has no record: their
    metadata is never displaced, and a picture without its history is never silent."""
    extended = _extended_packet(record)
    guid = xmp.extended_guid(extended)
    pointer = json.dumps({"operation": record.get("operation"), _EXTENDED: guid},
                         ensure_ascii=True, separators=(",", ":"))
    block = (  # as small as a block can be: their packet may leave a few hundred bytes
        '<rdf:Description rdf:about="" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns:xmpNote="{xmp.XMP_NOTE}" xmlns:cdw="{NAMESPACE}"'
        f' xmpNote:HasExtendedXMP="{guid}" cdw:Record={quoteattr(pointer)}/>')
    merged = xmp.merge_xmp(data, block.encode(), extended=extended)
    if merged is None:
        notify(_no_room(theirs))
        return data
    return merged


def _no_room(theirs: bytes) -> str:
    """Why a JPEG's own XMP packet ``theirs`` took no record, for a notice."""
    if b"HasExtendedXMP" in theirs:
        why = "it already names an extended XMP of its own"
    elif b"</rdf:RDF>" not in theirs:
        why = "it has no </rdf:RDF> to put the record in"
    else:
        why = (f"it is {len(theirs):,} bytes of the {xmp.JPEG_XMP_LIMIT:,} one JPEG segment "
               "holds, with no room left even for a pointer to the record")
    return ("this JPEG was written without its record (how it was made): its own XMP packet "
            f"cannot take one ({why}), and a second packet would make ExifTool and Pillow "
            "show only one of the two; the picture and its own metadata are kept as they came")


#: Room a packet takes beyond its record's ``rdf:Description`` (wrapper, markers), generously.
_PACKET_OVERHEAD = 2_000


def _within_read_limit(record: Mapping[str, Any], theirs: int) -> Mapping[str, Any]:
    """``record``, or a smaller form of it (`_shrunk`: the inputs as a bare list of
    hashes, then none, ``left_out`` saying so) when its packet, beside a packet of their own
    of ``theirs`` bytes, would be over `xmp.PACKET_LIMIT`: `read_record` reads no larger
    one, and what is written is read back (a PNG contact sheet of 20,000 pictures)."""
    room = xmp.PACKET_LIMIT - theirs - _PACKET_OVERHEAD
    for form in (record, *_shrunk(record)):
        if len(_description(form, wrapped=True).encode()) <= room:
            return form
    return form  # the bare form: prompt and options only, it fits any real packet


#: The key of a JPEG's shortened record naming the extended XMP that holds it whole.
_EXTENDED = "extended_xmp"


def _shrunk(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Smaller forms of ``record`` for one JPEG segment: its inputs as a bare list of
    hashes (``input_hashes``), then without inputs and sweep values at all (``left_out``
    names what the segment leaves to the extended XMP, where the whole record is: a contact
    sheet of thousands of pictures keeps every picture's hash)."""
    inputs = record.get("inputs") or {}
    hashes = [i.get("sha256") for i in inputs.values() if isinstance(i, Mapping)]
    compact = {**record, "inputs": {}, "input_hashes": hashes}
    bare = {**record, "inputs": {}, "values": None,
            "left_out": [f"{len(inputs)} input hashes", "values"]}
    return compact, bare


def _extended_packet(record: Mapping[str, Any]) -> bytes:
    """The extended XMP of a JPEG whose record is too big for one segment: the whole
    record as JSON in ``cdw:RecordInFull`` (a name of its own, so a reader showing both
    packets' properties shows the two records apart)."""
    body = json.dumps(dict(record), ensure_ascii=True, separators=(",", ":"))
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'{xmp.BLOCK_OPEN.decode()}<rdf:Description rdf:about=""'
        f' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cdw="{NAMESPACE}"'
        f' cdw:RecordInFull={quoteattr(body)}/>{xmp.BLOCK_CLOSE.decode()}'
        '</rdf:RDF></x:xmpmeta>'
    ).encode()


def recorded_bytes(result: Result, **sweep: Any) -> bytes:
    """``result``'s image bytes with its record inside (``template=``, ``values=`` for a
    sweep's item)."""
    return with_record(result.data, record_of(result, **sweep))


def strip_record(data: bytes) -> bytes:
    """``data`` without our record: exactly the bytes `with_record` was given."""
    return xmp.remove_xmp(data, _MARKER)


def _source_bytes(source: Any) -> bytes | None:
    """The file bytes of ``source``, or, for a PIL image, its XMP packet."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        return _read_file(source)
    if isinstance(source, Result):
        return source.data
    from PIL import Image

    if isinstance(source, Image.Image):
        packet = source.info.get("xmp") or source.info.get("XML:com.adobe.xmp")
        if isinstance(packet, str):
            packet = packet.encode("utf-8")
        if packet and b"HasExtendedXMP" in packet and getattr(source, "filename", ""):
            return _read_file(source.filename)  # the extended XMP is in the file only
        if packet:
            return packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
        if getattr(source, "filename", ""):
            return _read_file(source.filename)
        return None
    raise ConfigurationTypeError(
        f"read_record takes a path, bytes or a PIL image, got {type(source).__name__}")


#: The most bytes `read_record` reads from a file: the largest answer any operation can give
#: plus the largest record (a bigger file is not one this package wrote).
FILE_LIMIT = max(ep.max_answer_bytes for ep in ENDPOINTS.values()) + xmp.EXTENDED_LIMIT \
    + xmp.PACKET_LIMIT


def _read_file(path: str | os.PathLike[str]) -> bytes | None:
    """The bytes of the regular file ``path``; ``None`` when it is larger than `FILE_LIMIT`.
    A named pipe, a device (``/dev/zero``) or a folder is refused with `ConfigurationError`
    (opened without blocking, never read)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        facts = os.fstat(fd)
        if not stat.S_ISREG(facts.st_mode):
            raise ConfigurationError(
                f"read_record reads picture files only: {os.fspath(path)!r} is not a regular "
                "file (a device, a named pipe or a folder)")
        if facts.st_size > FILE_LIMIT:
            return None  # far larger than any picture this package writes
        data = f.read(FILE_LIMIT + 1)  # a file growing meanwhile is still read bounded
    return None if len(data) > FILE_LIMIT else data


def _between(data: bytes, first: bytes, last: bytes) -> bytes | None:
    start = data.find(first)
    end = data.find(last, start) if start >= 0 else -1
    return data[start + len(first):end] if end >= 0 else None


def read_record(source: str | os.PathLike[str] | bytes | Any) -> dict[str, Any] | None:
    """The record inside a picture, or ``None`` when it has none.

    Args:
        source: a file path, the file's bytes, or a PIL image (opened from a file, or with
            its XMP in ``image.info``).

    A path is read only if it is a regular file (`ConfigurationError` for a device or a
    named pipe) of at most `FILE_LIMIT` bytes (``None`` for a larger one).

    Returns:
        A dict with at least ``operation``, ``prompt`` (``None`` where there is none),
        ``options``, ``inputs``, ``engine`` and ``created`` (see `record_of` for all keys).
    """
    data = _source_bytes(source)
    if not data:
        return None
    packet = xmp.find_block(data) if not data.lstrip().startswith((b"<", b"\xef")) \
        else _between(data, xmp.BLOCK_OPEN, xmp.BLOCK_CLOSE)
    if packet is None or len(packet) > _PACKET_LIMIT:  # not ours: far larger than we write
        return None
    try:  # only our block: a record someone else put in the file is never read
        root = ElementTree.parse(io.BytesIO(packet)).getroot()
    except ElementTree.ParseError:
        return None
    record = _json_property(root, "Record")
    guid = record.get(_EXTENDED) if record is not None else None
    if isinstance(guid, str):  # a JPEG's record too big for one segment: whole in the rest
        whole = _extended_record(data, guid)
        if whole is not None:
            return whole
    return record


def _json_property(root: ElementTree.Element, name: str) -> dict[str, Any] | None:
    """The JSON object in the property ``cdw:<name>`` under ``root``, or ``None``."""
    key = f"{{{NAMESPACE}}}{name}"
    for node in root.iter():
        text = node.attrib.get(key) or (node.text if node.tag == key else None)
        if text:
            try:
                record = json.loads(text)
            except (ValueError, RecursionError):  # RecursionError: a record nested 100k deep
                return None
            return record if isinstance(record, dict) else None
    return None


def _extended_record(data: bytes, guid: str) -> dict[str, Any] | None:
    """The whole record in the JPEG's extended XMP named ``guid`` (``None``: missing, say
    a program that kept only the first segment)."""
    extended = xmp.find_extended(data, guid) if data.startswith(b"\xff\xd8") else None
    block = _between(extended or b"", xmp.BLOCK_OPEN, xmp.BLOCK_CLOSE)
    if block is None:
        return None
    try:
        return _json_property(ElementTree.parse(io.BytesIO(block)).getroot(), "RecordInFull")
    except ElementTree.ParseError:
        return None
