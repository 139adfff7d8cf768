"""Reopen, then reload: the page shows the session the person chose (issue 21).

The launcher builds the Studio on its launch folder; a session picked in **Reopen** was lost at
the next reload (the launch folder came back, with 0 results). The choice is now remembered
for that launch folder while it is empty, also by a kernel built ahead of the page (Voila's
preheated one, which learns it when the page connects).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clipdrop_widgets import Client, Session, Studio

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


@pytest.fixture
def earlier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIPDROP_WIDGETS_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "earlier"
    session = Session(folder)
    client = Client()
    for prompt in ("a fox", "a heron"):
        session.add(client.text_to_image(prompt))
    return folder


def test_a_reload_shows_the_session_reopened_not_the_empty_launch_folder(tmp_path, earlier):
    launch = tmp_path / "launch"
    page = Studio(session_dir=launch)
    assert len(page.history.results) == 0
    page.open_session(earlier)  # Reopen in the header
    assert len(page.history.results) == 2

    reloaded = Studio(session_dir=launch)  # the next page of the same launch
    assert Path(reloaded.session_dir) == earlier.resolve()
    assert len(reloaded.history.results) == 2
    assert "(2 results)" in reloaded.session_text

    reloaded.open_session(launch)  # back to the launch folder: the choice is forgotten
    assert Path(Studio(session_dir=launch).session_dir) == launch


def test_a_kernel_built_before_the_reopen_catches_up_when_its_page_connects(tmp_path, earlier):
    launch = tmp_path / "launch"
    preheated = Studio(session_dir=launch)  # Voila's next kernel, built ahead
    Studio(session_dir=launch).open_session(earlier)  # the visitor's page reopens
    assert len(preheated.history.results) == 0
    preheated._catch_up()  # what the page's connecting does (Downloader "shown")
    assert Path(preheated.session_dir) == earlier.resolve()
    assert len(preheated.history.results) == 2


def test_a_launch_folder_with_results_of_its_own_is_never_replaced(tmp_path, earlier):
    launch = tmp_path / "launch"
    page = Studio(session_dir=launch)
    page.open_session(earlier)
    Session(launch).add(Client().text_to_image("made in the launch folder"))
    again = Studio(session_dir=launch)
    assert Path(again.session_dir) == launch and len(again.history.results) == 1
