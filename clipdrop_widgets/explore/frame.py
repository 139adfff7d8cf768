"""A sweep's records as a pandas DataFrame, kept apart so pandas stays an optional extra."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["records_frame"]


def records_frame(records: Sequence[Mapping[str, Any]], names: list[str],
                  record_keys: Sequence[str]) -> pandas.DataFrame:
    """``records`` as a DataFrame indexed by item, one column per variable in ``names`` after
    ``prompt`` (``var_<name>`` when a variable shares a name with one of ``record_keys``).

    Raises `ImportError` with the install command when pandas is missing.
    """
    try:
        import pandas
    except ImportError:
        raise ImportError("Sweep.to_dataframe needs pandas: pip install pandas (or "
                          "pip install 'clipdrop-widgets[examples]'); .records has the "
                          "same data as a list of dicts") from None
    rows = []
    for record in records:
        row: dict[str, Any] = {"index": record["index"], "prompt": record["prompt"]}
        for name in names:
            row[f"var_{name}" if name in record_keys else name] = record["variables"][name]
        row.update((k, v) for k, v in record.items()
                   if k not in ("index", "prompt", "variables"))
        rows.append(row)
    return pandas.DataFrame(rows).set_index("index")
