"""A sweep's history outside its run folder: its tables and its contact sheet's record.

`sweep_rows` gives one row per image of a sweep with the columns a session's table has
(`api.tables.COLUMNS`: the template and each item's values filled in: template variables,
picture label, swept options and take; its options with the swept ones; its own picture's
hash among the inputs) plus ``attempts`` (how many times the item was sent, retries
included) and ``request_seconds``, so "which style word cost the most retries" is one SQL
query. `sheet_record` is the record a contact sheet saved as a picture carries: the sweep it
shows and every image in it by SHA-256.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..api.records import IPTC_EDIT
from ..api.tables import image_size, parent_ids
from ..api.tables import write_parquet as _write_rows
from .plan import IMAGE_AXIS

if TYPE_CHECKING:  # pragma: no cover

    from .sweep import Sweep

__all__ = ["sweep_rows", "sheet_record", "write_parquet", "SWEEP_COLUMNS"]

#: The columns a sweep's table adds after the session's.
SWEEP_COLUMNS = ("attempts", "request_seconds")


def _input_hashes(sweep: Sweep) -> list[str]:
    return [d["sha256"] for d in (sweep._inputs or {}).values()
            if isinstance(d, dict) and d.get("sha256")]


def _options(sweep: Sweep) -> dict[str, Any]:
    return {k: v for k, v in (sweep._inputs or {}).items() if not isinstance(v, dict)}


def sweep_rows(sweep: Sweep) -> list[dict[str, Any]]:
    """One row per image of ``sweep``, in item order (``id`` is the item's index)."""
    import json

    attempts = Counter(r.get("index") for r in sweep._log.read()
                       if r.get("status") in ("ok", "failed", "stopped"))
    fixed = _input_hashes(sweep)
    pictures = (sweep._inputs or {}).get("images") or {}
    swept = list(sweep._swept.get("options") or ())
    rows = []
    for record in sweep.records:
        if record["status"] != "ok":
            continue
        values = record["variables"]
        # the call's options: the fixed ones and this item's swept values; its own picture
        options = json.dumps({**_options(sweep), **{k: values[k] for k in swept}},
                             ensure_ascii=False, sort_keys=True)
        picture = pictures.get(values.get(IMAGE_AXIS)) or {}
        hashes = fixed + ([picture["sha256"]] if picture.get("sha256") else [])
        where = sweep.run_dir / record["file"] if sweep.run_dir is not None \
            else io.BytesIO(sweep._log.load_image(record["file"]))  # kept in memory
        width, height = image_size(where)
        rows.append({
            "id": record["index"],
            "operation": sweep.operation,
            "prompt": record["prompt"],
            "template": sweep.template,
            "values": json.dumps(values, ensure_ascii=False, sort_keys=True)
            if sweep.template is not None or values else None,
            "options": options,
            "width": width,
            "height": height,
            "credits": record.get("credits"),
            "created": record.get("finished_at"),
            "sha256": record.get("sha256"),
            "input_hashes": hashes,
            "parent": None,
            "engine": record.get("source") or sweep._source,
            "file": record.get("file"),
            "attempts": attempts.get(record["index"], 1),
            "request_seconds": record.get("request_seconds"),
        })
    for row, parent in zip(rows, parent_ids(rows, [None] * len(rows)), strict=True):
        row["parent"] = parent
    return rows


def write_parquet(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> str:
    """Write a sweep's rows (`sweep_rows`) to Parquet at ``path``; returns the path."""
    import pyarrow as pa

    return _write_rows(rows, path, extra=[("attempts", pa.int64()),
                                          ("request_seconds", pa.float64())])


def sheet_record(sweep: Sweep) -> dict[str, Any]:
    """The record a contact sheet of ``sweep`` carries when saved as a picture."""
    shown = {f"item {r['index']}": {"sha256": r["sha256"], "metadata": []}
             for r in sweep.records if r["status"] == "ok" and r.get("sha256")}
    return {
        "operation": sweep.operation,
        "kind": "contact sheet",
        "prompt": None,
        "template": sweep.template,
        "values": sweep.variables,
        "options": _options(sweep),
        "inputs": shown,
        "input_from": None,
        "credits": sweep._credits(),
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "engine": _items_engine(sweep),
        "package": f"clipdrop-widgets {__version__}",
        "digital_source_type": IPTC_EDIT,
    }


def _items_engine(sweep: Sweep) -> str | None:
    """What made the sheet's pictures, from their own records (not the Client that ran the
    sweep: a keyed Client may be served by the local engine); several are joined by ``+``."""
    engines = sorted({str(r.get("source") or sweep._source) for r in sweep.records
                      if r["status"] == "ok"} - {"None"})
    return " + ".join(engines) if engines else sweep._source
