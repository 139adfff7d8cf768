"""GatewayDashboard as issue 19 asks: the admin page's figures, no database made by mistake,
the legend beside the plot, local time."""

from __future__ import annotations

import sqlite3
import time

import pytest
from gateway_fake import post

from clipdrop_widgets import GatewayDashboard
from clipdrop_widgets.contract.errors import ConfigurationError


def test_a_path_with_no_database_is_refused_and_not_created(tmp_path):
    wrong = tmp_path / "wrong" / "path.db"
    with pytest.raises(ConfigurationError, match="no gateway database"):
        GatewayDashboard(wrong)
    with pytest.raises(ConfigurationError, match="no gateway database"):
        GatewayDashboard(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(ConfigurationError, match="not a gateway database"):
        GatewayDashboard(other)


def test_the_dashboard_shows_the_admin_pages_figures_in_local_time(make_fake, make_gateway,
                                                                   ledger, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9: a UTC clock would show another hour
    time.tzset()
    try:
        fake = make_fake()
        gateway = make_gateway(fake.url)
        (_, alice), (_, bob) = ledger.create_seats(2, 10, contacts=["Ada", "Grace"])
        post(gateway.url, "/text-to-image/v1", alice, files={"prompt": (None, "a fox")})
        post(gateway.url, "/text-to-image/v1", bob, files={"prompt": (None, "")})  # a 400
        dashboard = GatewayDashboard(tmp_path / "room.db", live=False,
                                     admin_url=gateway.admin_url)
        try:
            table = dashboard._table.value
            used = ledger.seats()[0].last_used
            assert time.strftime("%H:%M:%S", time.localtime(used)) in table
            assert time.strftime("%H:%M:%S", time.gmtime(used)) not in table
            for heading in ("who", "in flight", "waiting", "wait p50", "wait p95", "refusals"):
                assert f"<th>{heading}</th>" in table
            assert "Ada" in table and "input 1" in table
            assert "upstream up" in dashboard._summary.value
            assert "1 calls in the last minute of 60" in dashboard._summary.value
            figure = dashboard._chart_figure(dashboard._ledger.spend_history())
            figure.canvas.draw()
            axes = figure.axes[0]
            legend = axes.get_legend().get_window_extent()
            assert legend.x0 >= axes.get_window_extent().x1  # beside the plot, not over it
            state = str([w.get_state() for w in dashboard.children])
            assert alice not in state and "token=" not in state
        finally:
            dashboard.close()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
