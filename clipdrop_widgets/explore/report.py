"""A report that needs no kernel: a session or a sweep as one self-contained HTML file.

A study's pictures are shared with people who will not run a notebook. `export_html` writes a
single file that opens offline in any browser: every image (embedded as it is, never
re-encoded), its record, what fed what, filters by operation and by prompt words, and a
before/after divider for edits, all in plain JavaScript (``report.js``) with no network and no
kernel. A Content-Security-Policy forbids every request, so the file cannot reach out even
by mistake.

Each input picture is embedded once however many results it fed, so the file stays near the
size of the images themselves (base64 costs a third more); they are read and written one at a
time, so a session of thousands of pictures needs the memory of one.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..api.records import digital_source_type, strip_record
from ..api.session import LOG_NAME, Session
from ..api.storage import fsync_dir, remove_stale_temporaries, temporaries_of
from ..api.tables import parent_ids
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError, ConfigurationTypeError
from .runlog import MANIFEST_NAME as SWEEP_MANIFEST
from .sweep import Sweep

__all__ = ["export_html", "report_items"]

_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_SCRIPT = Path(__file__).with_name("report.js")
_STYLE = Path(__file__).with_name("report.css")


def _open(source: Any) -> Session | Sweep:
    if isinstance(source, (Session, Sweep)):
        return source
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if (folder / LOG_NAME).is_file():
            return Session(folder)
        if (folder / SWEEP_MANIFEST).is_file():
            return Sweep.open(folder)
        raise ConfigurationError(f"{folder} holds neither a session ({LOG_NAME}) nor a sweep "
                                 f"({SWEEP_MANIFEST}); give a session or sweep folder")
    raise ConfigurationTypeError("export_html takes a Session, a Sweep or the folder of one, "
                                 f"got {type(source).__name__}")


def _data_uri(data: bytes, name: str) -> str:
    mime = _MIME.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _title(operation: str) -> str:
    ep = ENDPOINTS.get(operation)
    return ep.title if ep is not None else operation


Loader = Callable[[], str]


def _file_uri(path: Path, *, strip: bool = False) -> Loader:
    """A loader of ``path`` as a data URI (read when the report is written, one at a time)."""
    return lambda: _data_uri(strip_record(path.read_bytes()) if strip else path.read_bytes(),
                             path.name)


def _session_items(session: Session, pictures: dict[str, Loader]) -> list[dict[str, Any]]:
    items, origins = [], []
    for i, line in enumerate(session.records()):
        path = session.directory / line["file"]
        if not path.is_file():
            continue
        options = dict(line.get("options") or {})
        origin = options.pop("input_from", None)
        inputs, raw_before = {}, False
        for name, described in (line.get("inputs") or {}).items():
            sha = described.get("sha256")
            source = session.directory / str(described.get("file", ""))
            if sha and source.is_file() and "mask" not in name:
                pictures.setdefault(sha, _file_uri(source))
                raw_before = raw_before or _turned_only_by_exif(source, path)
            inputs[name] = sha
        origins.append(origin)
        items.append({
            "id": i, "operation": line["operation"], "title": _title(line["operation"]),
            "prompt": line.get("prompt") or "", "options": options, "inputs": inputs,
            "input_hashes": [h for h in inputs.values() if h], "input_from": origin,
            "credits": line.get("credits"), "created": line.get("time"),
            "engine": line.get("source", "service"), "sha256": line.get("sha256"),
            "file": line["file"], "digital_source_type": digital_source_type(line["operation"]),
            "src": _file_uri(path, strip=True), "raw_before": raw_before,
        })
    for item, parent in zip(items, parent_ids(items, origins), strict=True):
        item["parent"] = parent
    return items


def _turned_only_by_exif(before: Path, after: Path) -> bool:
    """Whether the photo ``before`` is turned for display by its EXIF orientation while the
    result ``after`` has the photo's stored size: the report then shows the photo as stored
    (``image-orientation: none``), so before and after line up under the divider."""
    from PIL import Image

    try:
        with Image.open(before) as photo, Image.open(after) as result:
            turned = photo.getexif().get(0x0112, 1) not in (1, None)
            return turned and result.size == photo.size and \
                result.getexif().get(0x0112, 1) in (1, None)
    except (OSError, ValueError, SyntaxError):  # not a picture PIL reads: shown as it is
        return False


def _sweep_items(sweep: Sweep) -> list[dict[str, Any]]:
    items = []
    for record in sweep.records:
        if record["status"] != "ok":
            continue
        items.append({
            "id": record["index"], "operation": sweep.operation,
            "title": _title(sweep.operation), "prompt": record["prompt"],
            "template": sweep.template, "values": record["variables"],
            "options": {k: record["variables"][k] for k in sweep._swept.get("options") or ()},
            "inputs": {}, "input_hashes": [], "input_from": None, "parent": None,
            "credits": record.get("credits"), "created": _when(record.get("finished_at")),
            "engine": record.get("source") or sweep._source, "sha256": record.get("sha256"),
            "file": record["file"], "digital_source_type": digital_source_type(sweep.operation),
            "src": functools.partial(_sweep_uri, sweep, record["file"]),
        })
    return items


def _sweep_uri(sweep: Sweep, name: str) -> str:
    return _data_uri(strip_record(sweep._log.load_image(name)), name)


def _when(seconds: float | None) -> str | None:
    return None if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                      time.localtime(seconds))


def _lazy_items(opened: Session | Sweep
                ) -> tuple[list[dict[str, Any]], dict[str, Loader]]:
    """`report_items` with loaders in place of the data URIs."""
    pictures: dict[str, Loader] = {}
    if isinstance(opened, Session):
        return _session_items(opened, pictures), pictures
    return _sweep_items(opened), pictures


def report_items(source: Session | Sweep | str | os.PathLike[str]
                 ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What a report shows: one dict per image (its record, ``parent``, and ``src``, the
    image as a data URI) and the input pictures as data URIs by SHA-256.

    Everything is read into memory here; `export_html` reads one picture at a time."""
    items, pictures = _lazy_items(_open(source))
    return ([{**item, "src": item["src"]()} for item in items],
            {sha: load() for sha, load in pictures.items()})


#: Characters that could end or confuse the ``<script>`` element, as JSON's own ``\\uXXXX``.
_SCRIPT_UNSAFE = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})


def _json_for_script(value: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in: ``<``, ``>``, ``&`` and the
    line separators U+2028/9 are written as ``\\uXXXX`` escapes, which ``JSON.parse`` reads
    back as the same characters (``<!--``, ``</script`` or ``<![CDATA[`` in a prompt stay
    text)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(
        _SCRIPT_UNSAFE)


def export_html(source: Session | Sweep | str | os.PathLike[str],
                path: str | os.PathLike[str], *, title: str | None = None) -> str:
    """Write a session's or a sweep's results as one self-contained HTML file; returns the path.

    Args:
        source: a [`Session`][clipdrop_widgets.Session], a
            [`Sweep`][clipdrop_widgets.Sweep], or the folder of either.
        path: the HTML file to write (replaced atomically if it exists; the hidden
            ``.<name>.*.tmp`` an export killed midway left beside it is removed).
        title: the page's heading (default: the folder's name).

    The file needs no network and no kernel: open it in any browser, send it by mail. It
    shows every image with its record, which result fed which, filters by operation and by
    prompt words, and, for an edit, its photo before and after with a divider to drag.
    """
    opened = _open(source)
    items, pictures = _lazy_items(opened)
    folder = opened.directory if isinstance(opened, Session) else opened.run_dir
    heading = title or (folder.name if folder is not None else "clipdrop-widgets results")
    head = (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(heading)}</title>\n<style>{_STYLE.read_text()}</style>\n"
        "</head><body>\n"
        f"<header><h1>{html.escape(heading)}</h1>"
        f"<p id=\"summary\">{len(items)} images</p></header>\n"
        f"{_controls(items)}\n"
        "<main><ul id=\"grid\" aria-label=\"Results\"></ul>"
        "<nav id=\"pages\" aria-label=\"Pages\"></nav>"
        "<section id=\"detail\" aria-label=\"The chosen result\" hidden></section></main>\n"
        "<script id=\"report-data\" type=\"application/json\">"
    )
    tail = f"</script>\n<script>{_SCRIPT.read_text()}</script>\n</body></html>\n"
    out = Path(path)
    remove_stale_temporaries(out.parent, temporaries_of(out))  # a killed export's, only ours
    tmp = out.with_name(f".{out.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:  # one picture in memory at a time
            f.write(head + '{"items":[')
            for n, item in enumerate(items):
                f.write(("," if n else "") + _json_for_script({**item, "src": item["src"]()}))
            f.write('],"pictures":{')
            for n, (sha, load) in enumerate(pictures.items()):
                f.write(("," if n else "") + f"{_json_for_script(sha)}:"
                        f"{_json_for_script(load())}")
            f.write("}}" + tail)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(out.parent)
    return os.fspath(out)


def _controls(items: list[Mapping[str, Any]]) -> str:
    operations = sorted({(i["operation"], i["title"]) for i in items}, key=lambda o: o[1])
    options = "".join(f'<option value="{html.escape(name)}">{html.escape(title)}</option>'
                      for name, title in operations)
    return (
        '<form id="filters" role="search" aria-label="Filter the results">'
        '<label for="op">Operation</label> <select id="op">'
        f'<option value="">All operations</option>{options}</select> '
        '<label for="words">Prompt words</label> '
        '<input id="words" type="search" placeholder="fox snow" autocomplete="off"> '
        '<span id="shown" role="status" aria-live="polite"></span></form>'
    )
