"""Every picture the package writes carries its record, readable by ExifTool (a reader no one
here wrote) and by `read_record`; the pixels and an input's own metadata are never touched; the
API key is in no file.

The write paths run for real: a client with a planted key against the local engine served on
loopback, a session folder, the history's Save, Download and Download all, ``result.save``, a
sweep's run folder and a contact sheet saved as PNG.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from fault_server import UNPACED
from PIL import Image

from clipdrop_widgets import Client, HistoryStrip, Session, Sweep, read_record
from clipdrop_widgets.api.records import (
    IPTC_EDIT,
    IPTC_PROMPT_MADE,
    record_of,
    recorded_bytes,
    strip_record,
)
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.contract.errors import ConfigurationTypeError

SENTINEL = "cdw-planted-key-7f3a9c2e51"


@pytest.fixture(scope="module")
def exiftool() -> str:
    """ExifTool's path (scripts/install-exiftool installs it; CI must have it)."""
    path = shutil.which("exiftool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ExifTool is missing: bash scripts/install-exiftool")
        pytest.skip("ExifTool is missing: bash scripts/install-exiftool")
    return path


def exif_tags(exiftool: str, path: Path) -> dict[str, object]:
    out = subprocess.run([exiftool, "-j", "-G1", "-a", str(path)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return json.loads(out)[0]


def encoded(fmt: str, mode: str = "RGB", size: tuple[int, int] = (96, 64), **options) -> bytes:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, (size[1], size[0], len(mode)), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels.squeeze(), mode).save(buf, fmt, **options)
    return buf.getvalue()


def png_with_c2pa_and_exif(size: tuple[int, int]) -> bytes:
    """A PNG photo carrying a (dummy) C2PA manifest chunk and EXIF, as a camera app writes."""
    data = encoded("PNG", size=size)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    data_exif = io.BytesIO()
    Image.open(io.BytesIO(data)).save(data_exif, "PNG", exif=exif.tobytes())
    data = data_exif.getvalue()
    body = b"\x00\x00\x00\x20jumb\x00\x00\x00\x18jumdc2pa\x00\x11\x00\x10manifest-bytes"
    chunk = struct.pack(">I", len(body)) + b"caBX" + body + struct.pack(
        ">I", zlib.crc32(b"caBX" + body))
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def _camera_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    return exif.tobytes()


FORMATS = {
    "png": lambda: encoded("PNG"),
    "png with alpha": lambda: encoded("PNG", "RGBA"),
    "jpeg": lambda: encoded("JPEG", quality=90),
    "jpeg with exif": lambda: encoded("JPEG", quality=90, exif=_camera_exif()),
    "webp lossy": lambda: encoded("WEBP"),
    "webp lossless with alpha": lambda: encoded("WEBP", "RGBA", lossless=True),
    "webp extended (exif)": lambda: encoded("WEBP", exif=_camera_exif()),
}


@pytest.mark.parametrize("kind", list(FORMATS))
def test_a_record_round_trips_and_leaves_the_picture_as_it_was(kind, tmp_path, exiftool):
    data = FORMATS[kind]()
    result = Result(data, "image/png", "text_to_image",
                    {"prompt": 'a red fox & a "blue" <hen>', "api_key": SENTINEL},
                    credits_consumed=1, source="service")
    marked = recorded_bytes(result, template="a {colour} fox", values={"colour": "red"})
    assert strip_record(marked) == data  # byte for byte: the image as received
    with Image.open(io.BytesIO(marked)) as im, Image.open(io.BytesIO(data)) as before:
        assert np.array_equal(np.asarray(im), np.asarray(before))  # no pixel re-encoded
    path = tmp_path / "picture.bin"
    path.write_bytes(marked)
    for source in (path, str(path), marked, Image.open(path)):
        record = read_record(source)
        assert record is not None
        assert record["prompt"] == 'a red fox & a "blue" <hen>'
        assert record["template"] == "a {colour} fox" and record["values"] == {"colour": "red"}
        assert record["operation"] == "text_to_image" and record["engine"] == "service"
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert {"options", "inputs", "created"} <= set(record)
    tags = exif_tags(exiftool, path)
    assert tags["XMP-iptcExt:DigitalSourceType"] == IPTC_PROMPT_MADE
    assert tags["XMP-cdw:Prompt"] == 'a red fox & a "blue" <hen>'
    assert tags["XMP-dc:Description"] == 'a red fox & a "blue" <hen>'
    assert not any("Warning" in k or "Error" in k for k in tags), tags
    if "exif" in kind:  # the picture's own metadata is still read
        assert tags.get("IFD0:Make") == "PhoneMaker"
        assert read_record(marked)["metadata"] == ["EXIF"]
    assert SENTINEL.encode() not in marked


@pytest.mark.parametrize("kind", list(FORMATS))
def test_a_picture_without_a_record_gives_none(kind, tmp_path):
    data = FORMATS[kind]()
    path = tmp_path / "plain"
    path.write_bytes(data)
    assert read_record(data) is None
    assert read_record(path) is None
    assert read_record(Image.open(path)) is None
    assert read_record(Image.new("RGB", (4, 4))) is None  # made in memory: no file, no XMP
    assert read_record(b"not an image at all") is None


def test_read_record_names_what_it_takes():
    with pytest.raises(ConfigurationTypeError, match="path, bytes or a PIL image"):
        read_record(42)


def test_a_record_written_twice_is_replaced_not_doubled():
    data = encoded("PNG")
    first = recorded_bytes(Result(data, "image/png", "text_to_image", {"prompt": "one"}))
    record = record_of(Result(data, "image/png", "text_to_image", {"prompt": "two"}))
    from clipdrop_widgets.api.records import with_record

    again = with_record(first, record)
    assert read_record(again)["prompt"] == "two"
    assert again.count(b"XML:com.adobe.xmp") == 1
    assert strip_record(again) == data


# -- every write path, for real ---------------------------------------------------------------
@pytest.fixture
def keyed_client(make_served_engine):
    handle = make_served_engine(api_key=SENTINEL, credits=1000)
    # unpaced: at the documented pace the nine calls of a test waited 8 s for their turns
    client = Client(SENTINEL, base_url=handle.url, timeout=60, requests_per_minute=UNPACED)
    yield client
    client.close()


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix in (".png", ".jpg", ".webp"))


def test_every_write_path_carries_the_record_and_never_the_key(keyed_client, tmp_path,
                                                                exiftool, monkeypatch):
    photo = png_with_c2pa_and_exif((1600, 1200))  # megabytes, as a phone's photo
    assert len(photo) > 4_000_000
    made = keyed_client.text_to_image("a lighthouse at dusk")
    webp = keyed_client.text_to_image("a lighthouse at dawn", format="webp")
    edit = keyed_client.replace_background(photo, "a beach at noon")
    edit.inputs = {**edit.inputs, "input_from": "upload"}
    strip = HistoryStrip(session_dir=tmp_path / "session", folder=tmp_path / "saved")
    for result in (made, webp, edit):
        strip.add(result)
    sent: list[tuple[str, bytes]] = []
    monkeypatch.setattr(strip.downloader, "send_file",
                        lambda data, name, mime="": sent.append(  # Download all: a file
                            (name, data if isinstance(data, bytes) else data.read())))
    strip.save()                     # Save all (Save writes the same way)
    strip.download(-1)               # Download
    strip.download()                 # Download all (a zip of the session)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for name, data in sent:
        if name.endswith(".zip"):
            zipfile.ZipFile(io.BytesIO(data)).extractall(downloads / "all")
        else:
            (downloads / name).write_bytes(data)
    (tmp_path / "result-save").mkdir()
    for name, result in (("made", made), ("webp", webp), ("edit", edit)):
        result.save(tmp_path / "result-save" / name)  # result.save, each format
    (tmp_path / "sheets").mkdir()
    for fmt in ("png", "jpeg", "webp"):  # a sweep run folder in each format
        sweep = Sweep(keyed_client, "text_to_image", template="a {animal} in the rain",
                      variables={"animal": ["fox", "hen"]}, inputs={"format": fmt},
                      run_dir=tmp_path / "sweep" / fmt)
        sweep.run(progress=False)
    for ext in ("png", "jpg", "webp"):  # the last sweep's contact sheet, saved three ways
        sweep.contact_sheet().savefig(tmp_path / "sheets" / f"sheet.{ext}")

    expected = {"text_to_image": IPTC_PROMPT_MADE, "replace_background": IPTC_EDIT}
    paths = _images_in(tmp_path)
    where = {p.relative_to(tmp_path).parts[0] for p in paths}
    assert where == {"session", "saved", "downloads", "result-save", "sweep", "sheets"}
    for part in where:  # each path writes each of the three formats
        assert {p.suffix for p in paths if p.relative_to(tmp_path).parts[0] == part} == {
            ".png", ".jpg", ".webp"}, part
    for path in paths:
        if path.parent.name == "inputs":  # the user's photo, kept exactly as given
            assert path.read_bytes() == photo
            continue
        record = read_record(path)
        tags = exif_tags(exiftool, path)
        assert record is not None, path
        if path.parent.name == "sheets":
            assert record["kind"] == "contact sheet" and len(record["inputs"]) == 2
            assert record["engine"] == "local engine"  # its pictures', not the Client's
            assert tags["XMP-iptcExt:DigitalSourceType"] == IPTC_EDIT
            continue
        assert tags["XMP-iptcExt:DigitalSourceType"] == expected[record["operation"]], path
        assert tags["XMP-cdw:Prompt"] == record["prompt"], path
        assert record["engine"] == "local engine"  # the engine marks its answers previews
        assert record["package"].startswith("clipdrop-widgets ")
        if record["operation"] == "replace_background":
            assert record["input_from"] == "upload"
            assert record["inputs"]["image_file"] == {
                "sha256": hashlib.sha256(photo).hexdigest(), "metadata": ["C2PA", "EXIF"]}
        if "sweep" in path.parts:
            assert record["template"] == "a {animal} in the rain"
            assert record["values"]["animal"] in ("fox", "hen")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path
    for _name, data in sent:
        assert SENTINEL.encode() not in data


def test_a_reopened_session_gives_back_the_bytes_as_received(keyed_client, tmp_path):
    result = keyed_client.text_to_image("a kettle on a stove", format="webp")
    session = Session(tmp_path / "s")
    line = session.add(result)
    on_disk = (tmp_path / "s" / line["file"]).read_bytes()
    assert on_disk != result.data and read_record(on_disk)["prompt"] == "a kettle on a stove"
    again = Session(tmp_path / "s").results()[0]
    assert again.data == result.data
    assert hashlib.sha256(again.data).hexdigest() == line["sha256"]


def test_a_hostile_packet_is_not_parsed(tmp_path):
    """A dropped picture is untrusted: an oversized packet naming our namespace, or one that
    is not XML, gives None, never an exception or a hang."""
    from clipdrop_widgets.api import xmp
    from clipdrop_widgets.api.records import NAMESPACE

    data = FORMATS["png"]()
    huge = xmp.add_xmp(data, NAMESPACE.encode() + b" " * 2_000_000)
    broken = xmp.add_xmp(data, b"<x:xmpmeta " + NAMESPACE.encode() + b" <<<")
    bomb = xmp.add_xmp(data, (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                  for p, c in zip("abcdefg", "bcdefgh", strict=True))
        + f']><r xmlns:cdw="{NAMESPACE}" cdw:Record="&h;"/>').encode())
    for hostile in (huge, broken, bomb):
        assert read_record(hostile) is None


def _compressed_png_packet(data: bytes, inflated: int) -> bytes:
    """``data`` (a PNG) with a compressed iTXt XMP chunk naming our namespace that inflates
    to ``inflated`` bytes (built a megabyte at a time, so the test itself stays small)."""
    from clipdrop_widgets.api.records import NAMESPACE

    packer = zlib.compressobj(9)
    parts = [packer.compress(b"<x:xmpmeta " + NAMESPACE.encode())]
    block = b" " * 1_000_000
    parts += [packer.compress(block) for _ in range(inflated // len(block))]
    parts.append(packer.flush())
    body = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + b"".join(parts)
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(
        ">I", zlib.crc32(b"iTXt" + body))
    at = 8 + 25  # after IHDR
    return data[:at] + chunk + data[at:]


def test_a_compressed_packet_bomb_is_not_inflated():
    """A picture of a few hundred KB whose compressed XMP inflates to 200 MB (a decompression
    bomb dropped on the Studio) gives None using a few MB, not hundreds."""
    import tracemalloc

    bomb = _compressed_png_packet(FORMATS["png"](), 200_000_000)
    assert len(bomb) < 1_000_000
    from clipdrop_widgets.api import xmp

    tracemalloc.start()
    try:
        found = read_record(bomb)
        notes = xmp.metadata_notes(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"{peak / 1e6:.0f} MB to read a {len(bomb) / 1e3:.0f} KB file"
    assert found is None and notes == []  # too large to be a packet at all


def test_a_deeply_nested_record_gives_none():
    from clipdrop_widgets.api import xmp
    from clipdrop_widgets.api.records import NAMESPACE

    deep = "[" * 100_000 + "]" * 100_000
    packet = xmp.BLOCK_OPEN + f'<r xmlns:cdw="{NAMESPACE}" cdw:Record="{deep}"/>'.encode() + \
        xmp.BLOCK_CLOSE
    assert read_record(xmp.add_xmp(FORMATS["png"](), packet)) is None


def test_the_records_date_is_a_valid_xmp_date():
    """XMP dates (ISO 8601) write the offset as +HH:MM, never +HHMM."""
    result = Client().text_to_image("a fox")
    created = record_of(result)["created"]
    assert created[-6] in "+-" and created[-3] == ":", created
    packet = recorded_bytes(result)
    assert f'xmp:CreateDate="{created}"'.encode() in packet


THEIR_XMP = (  # a service's own packet, with a forged record of ours in it
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:cdw="https://clipdrop-widgets.readthedocs.io/ns/record/1.0/" '
    'cdw:Record="{&quot;operation&quot;:&quot;FORGED&quot;}">'
    '<dc:creator><rdf:Seq><rdf:li>Original Author</rdf:li></rdf:Seq></dc:creator>'
    '</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>').encode()


@pytest.mark.parametrize("kind", ["png", "jpeg with exif", "webp extended (exif)"])
def test_the_pictures_own_xmp_is_kept_beside_the_record(kind, tmp_path, exiftool):
    """A picture that came with its own XMP (a creator, rights) keeps it: ExifTool shows
    the creator and the record, and the record comes out byte for byte, so the picture's
    hash (which links an edit of it to it) is the one it arrived with."""
    from clipdrop_widgets.api import xmp

    data = xmp.add_xmp(FORMATS[kind](), THEIR_XMP)
    result = Result(data, "image/png", "text_to_image", {"prompt": "a fox"})
    marked = recorded_bytes(result)
    assert strip_record(marked) == data
    assert read_record(marked)["prompt"] == "a fox"
    path = tmp_path / f"marked.{'png' if kind == 'png' else kind[:4]}"
    path.write_bytes(marked)
    tags = exif_tags(exiftool, path)
    assert tags.get("XMP-dc:Creator") == "Original Author", tags
    assert tags.get("XMP-cdw:Operation") == "text_to_image", tags
    edit = Result(data, "image/png", "cleanup", {},
                  files={"image_file": marked})  # the saved picture sent on
    assert record_of(edit)["inputs"]["image_file"]["sha256"] == \
        hashlib.sha256(data).hexdigest()
    assert record_of(edit)["inputs"]["image_file"]["metadata"][0] == "XMP"


def test_a_c2pa_signed_jpeg_is_told_its_manifest_no_longer_validates():
    data = FORMATS["jpeg"]()
    body = b"JP\x00\x00\x00\x00\x00\x01\x00\x00\x00\x20jumbc2pa-manifest"
    c2pa = b"\xff\xeb" + struct.pack(">H", len(body) + 2) + body
    signed = data[:2] + c2pa + data[2:]
    marked = recorded_bytes(Result(signed, "image/jpeg", "text_to_image", {"prompt": "a fox"}))
    assert c2pa in marked and strip_record(marked) == signed
    assert "no longer validates" in read_record(marked)["c2pa"]


@pytest.mark.parametrize("items", [700, 3000])
def test_a_jpeg_with_a_record_too_big_for_one_segment_keeps_every_hash(items, tmp_path,
                                                                       exiftool):
    """A contact sheet of hundreds of pictures: its record (about 100 bytes a picture) does
    not fit one 64 KiB JPEG segment. 700: the hashes as a bare list in the segment; 3,000:
    the whole record in the JPEG's extended XMP, read back by ExifTool too."""
    from clipdrop_widgets.api.records import with_record

    data = FORMATS["jpeg"]()
    shown = {f"item {i}": {"sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                           "metadata": []} for i in range(items)}
    record = {"operation": "text_to_image", "kind": "contact sheet", "prompt": None,
              "values": {"n": list(range(items))}, "inputs": shown, "engine": "service",
              "digital_source_type": IPTC_PROMPT_MADE}
    marked = with_record(data, record)
    assert strip_record(marked) == data  # the extended segments go too, byte for byte
    path = tmp_path / "sheet.jpg"
    path.write_bytes(marked)
    found = read_record(marked)
    assert found["kind"] == "contact sheet"
    assert read_record(Image.open(path)) == found  # a PIL image opened from the file
    hashes = [i["sha256"] for i in shown.values()]
    if items == 700:
        assert found["input_hashes"] == hashes
    else:
        assert found == record  # every hash and every value, nothing left out
        assert len(marked) - len(data) > 3 * 65536  # it did take several segments
    tags = exif_tags(exiftool, path)
    assert not any("Warning" in k or "Error" in k for k in tags), tags
    assert tags["XMP-iptcExt:DigitalSourceType"] == IPTC_PROMPT_MADE
    if items == 3000:  # ExifTool joins the extended XMP's pieces (a big value needs -b)
        assert len(tags["XMP-xmpNote:HasExtendedXMP"]) == 32
        whole = subprocess.run([exiftool, "-b", "-XMP-cdw:RecordInFull", str(path)],
                               capture_output=True, check=True, timeout=60).stdout
        assert [i["sha256"] for i in json.loads(whole)["inputs"].values()] == hashes
    else:
        assert json.loads(tags["XMP-cdw:Record"])["input_hashes"] == hashes
    if items == 3000:  # a program that dropped the last piece of the extended XMP
        start = marked.rindex(b"http://ns.adobe.com/xmp/extension/") - 4
        end = start + 2 + int.from_bytes(marked[start + 2:start + 4], "big")
        shortened = read_record(marked[:start] + marked[end:])
        assert shortened["inputs"] == {} and shortened["left_out"]  # said, not made up


@pytest.mark.parametrize(("kind", "items"), [("png", 12000), ("webp lossy", 20000)])
def test_a_png_or_webp_record_over_the_read_limit_is_shortened_and_read_back(kind, items):
    """A contact sheet of 12,000 or 20,000 pictures saved as PNG or WebP: its record (100
    bytes a picture) is over what `read_record` reads from one packet (1 MB). It is written
    shorter, saying what it left out, so what is written is read back: the hashes as a bare
    list while they fit, else none and ``left_out`` naming them."""
    from clipdrop_widgets.api.records import with_record

    shown = {f"item {i}": {"sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                           "metadata": []} for i in range(items)}
    record = {"operation": "text_to_image", "kind": "contact sheet", "prompt": "a sheet",
              "inputs": shown, "engine": "service", "digital_source_type": IPTC_PROMPT_MADE}
    found = read_record(with_record(FORMATS[kind](), record))
    assert found is not None and found["kind"] == "contact sheet"
    assert found["prompt"] == "a sheet" and found["inputs"] == {}
    if items == 12000:
        assert found["input_hashes"] == [i["sha256"] for i in shown.values()]
    else:
        assert "20000 input hashes" in found["left_out"]


def test_a_jpeg_whose_own_xmp_nearly_fills_its_segment_gets_no_second_packet(tmp_path,
                                                                           exiftool):
    """A JPEG arriving with a 64 KB XMP packet of its own (a long dc:title): our record
    goes whole into the extended XMP and their packet gets only a pointer to it; one
    standard packet, so ExifTool still shows their title and warns of nothing, and a PIL
    image of the file (which keeps one packet) reads the record too."""
    from clipdrop_widgets.api import xmp

    theirs = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta '
        'xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-'
        'ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">' + "T" * 64500 +
        '</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>').encode()
    data = xmp.add_xmp(FORMATS["jpeg"](), theirs)
    result = Result(data, "image/jpeg", "text_to_image", {"prompt": "p" * 900})
    marked = recorded_bytes(result)
    assert marked.count(b"http://ns.adobe.com/xap/1.0/\x00") == 1  # one standard packet
    assert strip_record(marked) == data
    assert read_record(marked)["prompt"] == "p" * 900
    path = tmp_path / "theirs.jpg"
    path.write_bytes(marked)
    assert read_record(Image.open(path))["prompt"] == "p" * 900
    out = subprocess.run([exiftool, "-validate", "-warning", "-a", "-G1", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert "Duplicate XMP" not in out and "Warning" not in out, out
    tags = exif_tags(exiftool, path)
    assert tags.get("XMP-dc:Title") == "T" * 64500


def test_a_jpeg_whose_own_xmp_leaves_no_room_at_all_says_it_has_no_record():
    """A JPEG's own packet so near 64 KiB that not even the pointer to an extended XMP fits
    was written back without a record and without a word: now one packet still (theirs,
    untouched) and a notice saying the picture has no record and why."""
    from clipdrop_widgets import ClipdropNotice
    from clipdrop_widgets.api import xmp

    theirs = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta '
        'xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-'
        'ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">' + "T" * 65100 +
        '</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>').encode()
    data = xmp.add_xmp(FORMATS["jpeg"](), theirs)
    result = Result(data, "image/jpeg", "text_to_image", {"prompt": "a fox"})
    with pytest.warns(ClipdropNotice, match="written without its record") as noticed:
        marked = recorded_bytes(result)
    assert "no room left even for a pointer" in str(noticed[0].message)
    assert marked == data  # their packet, alone and untouched
    assert marked.count(b"http://ns.adobe.com/xap/1.0/\x00") == 1
    assert read_record(marked) is None


def test_a_fresh_strip_saving_the_same_results_writes_no_duplicates(tmp_path):
    """Save run again by a new strip (a restarted kernel) over the same folder finds each
    result's file by its content and writes no ``-2`` copies; a different picture made the
    same second still gets its own file."""
    client = Client()
    results = [client.text_to_image("a fox"), client.text_to_image("a hen")]
    first = HistoryStrip(folder=tmp_path / "saved")
    for r in results:
        first.add(r)
    paths = first.save()
    again = HistoryStrip(folder=tmp_path / "saved")
    for r in results:
        again.add(r)
    assert again.save() == paths and len(os.listdir(tmp_path / "saved")) == 2
    owl = client.text_to_image("an owl")
    twin = Result(owl.data, owl.content_type, owl.endpoint,
                  created=results[1].created)  # the name of the hen, other bytes
    again.add(twin)
    assert again.save(twin)[0] not in paths and len(os.listdir(tmp_path / "saved")) == 3
