"""The Studio's header tells the truth after what a new user did (issue 21): a reopened session
counts what was spent in it, and the "No API key" note goes once the badge names the service.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from test_apps import click_run, fill_inputs

from clipdrop_widgets import Client, Studio

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


def test_a_reopened_session_counts_what_was_spent_in_it(tmp_path: Path) -> None:
    first = Studio(Client(), session_dir=tmp_path / "s")
    app = first.current
    fill_inputs(app)
    click_run(app)
    spent = first.credits_spent
    assert spent > 0

    left = first.client.remaining_credits
    assert left == 1000 - spent

    again = Studio(Client(), session_dir=tmp_path / "s")  # reopened at launch
    assert again.credits_spent == spent
    # walk 22b #10: a new page (a new kernel, a new local engine) said a fresh "1000 left"
    # beside the session's spent figure; it goes on from the session's last balance
    assert again.credits_text == f"Credits: {left:g} left · {spent:g} spent this session"
    fill_inputs(again.current)
    click_run(again.current)
    assert again.credits_text == (f"Credits: {left - spent:g} left · {2 * spent:g} spent "
                                  "this session")
    assert f"{left - spent:g} left" in again.current.status
    other = Studio(Client(), session_dir=tmp_path / "other")
    assert other.credits_spent == 0
    other.open_session(tmp_path / "s")  # reopened from the header
    assert other.credits_text == (f"Credits: {left - spent:g} left · {2 * spent:g} spent "
                                  "this session")
    fill_inputs(other.current)
    click_run(other.current)
    assert other.credits_spent == 3 * spent


def test_the_no_key_note_goes_when_the_badge_names_the_service(tmp_path: Path,
                                                               monkeypatch) -> None:
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    import clipdrop_widgets.api.client as client_module

    monkeypatch.setattr(client_module, "_local_notice_shown", False)  # said once a process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        studio = Studio(session_dir=tmp_path / "s")  # no key: the local engine, with a note
    assert "No API key" in studio._notes_box.value
    assert studio._notes_box.layout.display != "none"
    studio.set_api_key("sk-test-not-sent-anywhere")
    assert studio.source_text.startswith("ClipDrop service")
    assert studio._notes_box.layout.display == "none"
    studio.use_local_engine()
    assert studio._notes_box.layout.display != "none"
