"""A session as a table: one row per image, read back by pandas and queried by DuckDB, with
which result fed which (``parent``) and no key in the file."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from fault_server import UNPACED

from clipdrop_widgets import Client, Session
from clipdrop_widgets.api.tables import COLUMNS

SENTINEL = "cdw-planted-key-tables-93b1"


@pytest.fixture
def chained_session(make_served_engine, tmp_path):
    """A session of three results over loopback: a picture, an edit of it, another picture."""
    handle = make_served_engine(api_key=SENTINEL, credits=100)
    # unpaced: at the documented 60 a minute the three calls waited 2 s for their turns
    with Client(SENTINEL, base_url=handle.url, timeout=60, requests_per_minute=UNPACED) as client:
        session = Session(tmp_path / "s")
        fox = client.text_to_image("a fox in the snow")
        session.add(fox)
        mask = np.zeros((fox.height, fox.width), dtype=bool)
        mask[10:60, 10:60] = True
        edit = client.cleanup(fox.data, mask)
        edit.inputs = {**edit.inputs, "input_from": "sent on from the fox"}
        session.add(edit)
        session.add(client.text_to_image("an owl at night", format="webp"))
    return session


def test_a_session_table_has_one_row_per_image(chained_session, tmp_path):
    path = chained_session.to_parquet(tmp_path / "session.parquet")
    table = pd.read_parquet(path)
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 3
    assert list(table["operation"]) == ["text_to_image", "cleanup", "text_to_image"]
    assert list(table["prompt"])[::2] == ["a fox in the snow", "an owl at night"]
    assert table["parent"].isna().tolist() == [True, False, True]
    assert table["parent"][1] == 0  # the edit was made from the first picture
    records = chained_session.records()
    assert list(table["sha256"]) == [r["sha256"] for r in records]
    assert table["input_hashes"][1].tolist() == [
        d["sha256"] for d in records[1]["inputs"].values()]
    assert (table["width"] > 0).all() and (table["height"] > 0).all()
    assert str(table["created"].dtype).startswith("datetime64")
    assert json.loads(table["options"][1]) == {}  # input_from is the parent, not an option
    assert set(table["engine"]) == {"local engine"}
    assert SENTINEL.encode() not in (tmp_path / "session.parquet").read_bytes()


def test_duckdb_answers_which_prompts_results_were_sent_on(chained_session, tmp_path):
    path = chained_session.to_parquet(tmp_path / "session.parquet")
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT made.prompt, count(*) AS sent_on FROM '{path}' AS made "
        f"JOIN '{path}' AS next ON next.parent = made.id GROUP BY made.prompt").fetchall()
    assert rows == [("a fox in the snow", 1)]
    [(credits,)] = con.execute(f"SELECT sum(credits) FROM '{path}'").fetchall()
    assert credits == sum(r["credits"] for r in chained_session.records()) > 0


def test_an_empty_session_writes_an_empty_table(tmp_path):
    path = Session(tmp_path / "empty").to_parquet(tmp_path / "empty.parquet")
    table = pd.read_parquet(path)
    assert len(table) == 0 and list(table.columns) == list(COLUMNS)


def test_numeric_options_are_json_numbers_duckdb_can_compare(tmp_path):
    """An uncrop's seed and extends are numbers in its record and in the table, also for a
    line an earlier version wrote with them as text."""
    from clipdrop_widgets import read_record
    from clipdrop_widgets.api.session import LOG_NAME

    client = Client()
    session = Session(tmp_path / "s")
    line = session.add(client.uncrop(client.text_to_image("a fox"), extend_left=64, seed=3))
    assert line["options"]["seed"] == 3 and line["options"]["extend_left"] == 64
    assert read_record(tmp_path / "s" / line["file"])["options"]["seed"] == 3
    log = tmp_path / "s" / LOG_NAME
    old = {**line, "options": {**line["options"], "seed": "5", "extend_left": "10"}}
    log.write_text(log.read_text() + json.dumps(old) + "\n")  # as records used to be
    path = Session(tmp_path / "s").to_parquet(tmp_path / "s.parquet")
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT id, CAST(json_extract(options, '$.extend_left') AS INTEGER) FROM '{path}' "
        "WHERE json_extract(options, '$.seed') = 3 OR json_extract(options, '$.seed') = 5 "
        "ORDER BY id").fetchall()
    assert rows == [(0, 64), (1, 10)]
