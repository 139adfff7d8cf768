"""A session as a table: one row per image, for pandas, DuckDB or any Parquet reader.

Researchers ask questions across many results ("which prompts were sent on", "what did this
cost"); the session log answers them only line by line. `session_rows` gives one flat row per
image, with the same columns a sweep's table has (`explore.provenance`), so both can be queried
and joined alike; `write_parquet` writes rows with pyarrow.

Columns: ``id`` (the result's position in the session, 0 = oldest), ``operation``,
``prompt``, ``template`` and ``values`` (a sweep's; ``None`` here), ``options`` (JSON text;
numbers as JSON numbers, also those an older session kept as text, so DuckDB's
``json_extract(options, '$.seed') = 3`` matches),
``width`` and ``height`` (pixels), ``credits``, ``created`` (UTC timestamp), ``sha256`` (the
image as received), ``input_hashes`` (SHA-256 of each input file), ``parent`` (the ``id`` of
the result whose picture was the input, else ``None``), ``engine`` (``"service"`` or
``"local engine"``) and ``file`` (the image's path in the folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..contract.errors import ConfigurationError
from .records import typed_options

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = ["COLUMNS", "session_rows", "write_parquet", "image_size", "parent_ids"]

#: The columns every table has, in order (a sweep's adds its own after them).
COLUMNS = ("id", "operation", "prompt", "template", "values", "options", "width", "height",
           "credits", "created", "sha256", "input_hashes", "parent", "engine", "file")


def image_size(path: str | os.PathLike[str] | IO[bytes]) -> tuple[int | None, int | None]:
    """(width, height) from an image file's header (a path or a binary file object),
    ``(None, None)`` when unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None, None


def parent_ids(rows: Sequence[Mapping[str, Any]], origins: Sequence[str | None]
               ) -> list[int | None]:
    """For each row, the ``id`` of the earlier row whose image was its input: by an input's
    full SHA-256, else by the ``sha256:<start>`` an ``input_from`` text names."""
    by_hash: dict[str, int] = {}
    parents: list[int | None] = []
    for row, origin in zip(rows, origins, strict=True):
        found = next((by_hash[h] for h in row["input_hashes"] if h in by_hash), None)
        if found is None and origin and "sha256:" in origin:
            start = origin.rsplit("sha256:", 1)[1].strip()
            found = next((i for h, i in by_hash.items() if start and h.startswith(start)), None)
        parents.append(found)
        if row["sha256"]:
            by_hash.setdefault(row["sha256"], row["id"])
    return parents


def session_rows(session: Session) -> list[dict[str, Any]]:
    """One row per image of ``session``, oldest first (columns: `COLUMNS`)."""
    rows, origins = [], []
    for i, record in enumerate(session.records()):
        options = typed_options(record["operation"], record.get("options") or {})
        origins.append(options.pop("input_from", None))
        width, height = image_size(Path(session.directory) / record["file"])
        rows.append({
            "id": i,
            "operation": record.get("operation"),
            "prompt": record.get("prompt"),
            "template": record.get("template"),
            "values": _json(record.get("values")),
            "options": _json(options),
            "width": width,
            "height": height,
            "credits": _number(record.get("credits")),
            "created": _number(record.get("created")),
            "sha256": record.get("sha256"),
            "input_hashes": [d.get("sha256") for d in (record.get("inputs") or {}).values()
                             if isinstance(d, Mapping) and d.get("sha256")],
            "parent": None,
            "engine": record.get("source", "service"),
            "file": record.get("file"),
        })
    for row, parent in zip(rows, parent_ids(rows, origins), strict=True):
        row["parent"] = parent
    return rows


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _schema(extra: Iterable[tuple[str, Any]] = ()) -> Any:
    import pyarrow as pa

    types = {"id": pa.int64(), "width": pa.int64(), "height": pa.int64(),
             "credits": pa.float64(), "created": pa.timestamp("ms", tz="UTC"),
             "input_hashes": pa.list_(pa.string()), "parent": pa.int64()}
    fields = [(name, types.get(name, pa.string())) for name in COLUMNS]
    return pa.schema(fields + list(extra))


def write_parquet(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str], *,
                  extra: Iterable[tuple[str, Any]] = ()) -> str:
    """Write ``rows`` (`COLUMNS`, then the ``extra`` ``(name, pyarrow type)`` columns) to a
    Parquet file at ``path``; returns the path. Needs pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigurationError(
            "writing Parquet needs pyarrow: pip install pyarrow (or pip install "
            "'clipdrop-widgets[examples]')") from None
    schema = _schema(extra)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    columns["created"] = [None if t is None else int(t * 1000) for t in columns["created"]]
    table = pa.table(columns, schema=schema)
    path = os.fspath(path)
    pq.write_table(table, path)
    return path
