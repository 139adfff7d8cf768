"""A sweep as a table: DuckDB answers "which style word cost the most retries" from
``Sweep.to_parquet``, over a real sweep against a loopback server that refuses some items."""

from __future__ import annotations

import duckdb
import pandas as pd
from fault_server import UNPACED, Action, FaultServer

from clipdrop_widgets import Client, Sweep
from clipdrop_widgets.api.tables import COLUMNS

VARIABLES = {"animal": ["fox", "owl"], "style": ["ink", "oil", "chalk"]}


def make_sweep(server: FaultServer, run_dir) -> Sweep:
    # unpaced: at the documented 60 a minute each of the six items waited 1 s
    return Sweep(Client("k", base_url=server.url, max_retries=0, requests_per_minute=UNPACED),
                 "text_to_image",
                 template="a {animal}, {style}", variables=VARIABLES, run_dir=run_dir)


def test_duckdb_finds_the_style_that_cost_the_most_retries(tmp_path):
    with FaultServer() as server:
        sweep = make_sweep(server, tmp_path / "run")
        server.script(*[Action.error(400, "refused") if it.variables["style"] == "chalk"
                        else Action.image() for it in sweep.items])
        sweep.run(workers=1, progress=False)  # in item order: the chalk items are refused
        assert [r["status"] for r in sweep.records].count("failed") == 2
        again = make_sweep(server, tmp_path / "run")
        again.run(workers=1, progress=False)  # failed items are tried again
    path = again.to_parquet(tmp_path / "sweep.parquet")
    table = pd.read_parquet(path)
    assert list(table.columns)[:len(COLUMNS)] == list(COLUMNS)
    assert len(table) == 6 and set(table["template"]) == {"a {animal}, {style}"}
    worst = duckdb.connect().execute(
        "SELECT json_extract_string(\"values\", '$.style') AS style, "
        "sum(attempts - 1) AS retries "
        f"FROM '{path}' GROUP BY style ORDER BY retries DESC, style").fetchall()
    assert worst == [("chalk", 2), ("ink", 0), ("oil", 0)]


def test_a_sweep_in_memory_has_its_table_too(tmp_path):
    with FaultServer() as server:
        sweep = make_sweep(server, None)
        sweep.run(workers=2, progress=False)
    table = pd.read_parquet(sweep.to_parquet(tmp_path / "t.parquet"))
    assert len(table) == 6 and (table["width"] > 0).all()
    assert set(table["attempts"]) == {1}
