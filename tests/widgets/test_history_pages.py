"""The history browses the whole session: pages of ``max_items``, Newer and Older, filters by
operation and prompt words, any result opened in the compare view; a 5,000-result session
reopens reading one page of images, not 5,000."""

from __future__ import annotations

import io
import json
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdrop_widgets import Studio
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.api.session import LOG_NAME, Session
from clipdrop_widgets.widgets import HistoryStrip

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


def picture(i: int) -> bytes:
    rng = np.random.default_rng(i)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def make_session(folder: Path, count: int, distinct: int = 40) -> list[dict]:
    """A session of ``count`` results: ``distinct`` written by `Session.add`, the rest lines
    naming their images again (the log a long session leaves, written in one go)."""
    session = Session(folder)
    lines = []
    for i in range(distinct):
        operation = "cleanup" if i % 4 == 3 else "text_to_image"
        inputs = {} if operation == "cleanup" else {"prompt": f"a {'fox' if i % 2 else 'owl'} {i}"}
        lines.append(session.add(Result(picture(i), "image/png", operation, inputs,
                                        credits_consumed=1, created=1_700_000_000.0 + i)))
    extra = []
    for i in range(distinct, count):
        line = dict(lines[i % distinct])
        if line["prompt"] is not None:
            line["prompt"] = f"a {'fox' if i % 2 else 'owl'} {i}"
        line["created"] = 1_700_000_000.0 + i
        extra.append(json.dumps(line) + "\n")
    with open(folder / LOG_NAME, "a", encoding="utf-8") as f:
        f.write("".join(extra))
    return session.records()


def prompts(strip: HistoryStrip) -> list[str | None]:
    return [r.inputs.get("prompt") for r in strip.results]


def test_the_history_pages_through_the_whole_session(tmp_path):
    records = make_session(tmp_path / "s", 120)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    assert len(strip.results) == 50  # the newest page, in the order made
    assert prompts(strip) == [r["prompt"] for r in records[70:]]
    assert "Results 1-50 of 120" in strip.pager.place.value
    assert strip.pager.newer.disabled and not strip.pager.older.disabled
    strip.pager.older.click()
    assert prompts(strip) == [r["prompt"] for r in records[20:70]]
    strip.pager.older.click()
    assert prompts(strip) == [r["prompt"] for r in records[:20]]
    assert strip.pager.older.disabled and "101-120 of 120" in strip.pager.place.value
    chosen = []
    strip.on_select(chosen.append)
    strip._cards[-1].children[2].children[0].click()  # Show under the oldest result
    assert chosen[0].data == picture(0)
    strip.pager.newer.click()
    assert prompts(strip) == [r["prompt"] for r in records[20:70]]


def test_the_history_filters_by_operation_and_prompt_words(tmp_path):
    records = make_session(tmp_path / "s", 120)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    assert [v for _, v in strip.pager.operation.options] == ["", "text_to_image", "cleanup"]
    strip.pager.operation.value = "cleanup"
    cleanups = [r for r in records if r["operation"] == "cleanup"]
    assert len(strip.results) == len(cleanups) == 30
    assert {r.endpoint for r in strip.results} == {"cleanup"}
    assert "30 of 120 match" in strip.pager.place.value
    strip.pager.operation.value = ""
    strip.pager.words.value = "FOX 11"  # every word, any case
    wanted = [r["prompt"] for r in records
              if r["prompt"] and "fox" in r["prompt"] and "11" in r["prompt"]]
    assert prompts(strip) == wanted and wanted
    strip.pager.words.value = "a unicorn"
    assert strip.results == () and "No result matches" in strip.pager.place.value


def test_a_new_result_joins_the_newest_page_but_leaves_an_older_page_alone(tmp_path):
    make_session(tmp_path / "s", 60)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    strip.pager.older.click()
    shown = prompts(strip)
    strip.add(Result(picture(999), "image/png", "text_to_image", {"prompt": "a new hen"}))
    assert prompts(strip) == shown  # the page browsed stays
    assert "of 61" in strip.pager.place.value
    strip.pager.newer.click()
    assert prompts(strip)[-1] == "a new hen"


def test_a_5000_result_session_reopens_reading_one_page_of_images(tmp_path, monkeypatch):
    make_session(tmp_path / "big", 5000)
    read = []
    original = Session._result
    monkeypatch.setattr(Session, "_result",
                        lambda self, record: read.append(1) or original(self, record))
    strip = HistoryStrip(session_dir=tmp_path / "big")
    assert len(read) == 50 and len(strip.results) == 50
    assert "Results 1-50 of 5,000" in strip.pager.place.value


def test_a_first_reopen_shows_the_page_before_decoding_and_decodes_one_page(tmp_path,
                                                                           monkeypatch):
    from PIL import ImageFile

    from clipdrop_widgets.widgets import thumbnails

    make_session(tmp_path / "big", 5000, distinct=60)  # no thumbnails kept yet
    decoded, go = [], threading.Event()
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda im: decoded.append(im.size) or load(im))
    shrink = thumbnails.shrink
    monkeypatch.setattr(thumbnails, "shrink", lambda *a: go.wait(30) and shrink(*a))
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "big")
    # the cards are up while no picture is decoded: each shows the plain placeholder
    assert len(strip._cards) == 50 and decoded == []
    pictures = [card.children[0] for card in strip._cards]
    assert {p.value for p in pictures} == {thumbnails.placeholder(128)}
    go.set()
    assert strip.wait_thumbnails(30)
    assert 0 < len(decoded) <= 50  # one page's pictures at most, of 5,000
    assert all(p.value != thumbnails.placeholder(128) for p in pictures)
    assert pictures[0].layout.width == "64px"  # the thumbnail's own size, not the square
    decoded.clear()
    HistoryStrip(max_items=50, session_dir=tmp_path / "big").wait_thumbnails(30)
    assert decoded == []  # the next reopen reads the thumbnails kept


def test_a_studio_decodes_its_thumbnails_only_once_it_is_built(tmp_path, monkeypatch):
    from clipdrop_widgets.widgets import thumbnails

    make_session(tmp_path / "s", 60, distinct=10)
    shrunk = []
    shrink = thumbnails.shrink
    monkeypatch.setattr(thumbnails, "shrink", lambda *a: shrunk.append(1) or shrink(*a))
    with thumbnails.made_after():  # as Studio() builds itself
        strip = HistoryStrip(session_dir=tmp_path / "s")
        threading.Event().wait(0.3)  # time enough for a thread to have started
        assert strip._maker.pending == 50 and shrunk == []  # asked for, none made yet
    assert strip.wait_thumbnails(30) and 0 < len(shrunk) <= 10


def test_the_studio_opens_any_result_of_the_session_in_its_compare_view(tmp_path):
    make_session(tmp_path / "s", 120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        studio = Studio(session_dir=tmp_path / "s")
    assert "(120 results)" in studio.session_text  # every page's, not the page shown
    studio.history.pager.older.click()
    studio.history.pager.older.click()
    studio.history.select(0)  # the oldest result of the session
    assert studio.current.endpoint_name == "text_to_image"
    assert studio.current.result.data == picture(0)


def test_a_reopen_reads_the_thumbnails_made_before_instead_of_decoding(tmp_path, monkeypatch):
    from clipdrop_widgets.widgets import thumbnails

    make_session(tmp_path / "s", 60, distinct=10)
    first = HistoryStrip(session_dir=tmp_path / "s")  # the first time: shrunk and kept
    assert first.wait_thumbnails(30)
    assert len(list((tmp_path / "s" / thumbnails.THUMBNAILS).iterdir())) == 10
    shrunk = []
    monkeypatch.setattr(thumbnails, "shrink", lambda *a: shrunk.append(a) or None)
    again = HistoryStrip(session_dir=tmp_path / "s")
    assert again.wait_thumbnails(30)
    assert len(again.results) == 50 and not shrunk


def test_save_all_and_download_all_take_every_page_of_the_session(tmp_path, monkeypatch):
    import zipfile

    from clipdrop_widgets import read_record

    records = make_session(tmp_path / "s", 120)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s", folder=tmp_path / "out")
    strip.pager.words.value = "a unicorn"  # a filter that shows no card at all
    assert strip.results == () and not strip._save_all.disabled
    strip._save_all.click()
    assert not strip.errors.value
    saved = sorted((tmp_path / "out").iterdir())
    assert len(saved) == 120  # every page's result, not the 50 of a page (nor the 0 shown)
    kept = sorted(str(read_record(p.read_bytes()).get("prompt")) for p in saved)
    assert kept == sorted(str(r["prompt"]) for r in records)
    strip._save_all.click()  # again: nothing written twice
    assert len(list((tmp_path / "out").iterdir())) == 120
    assert "120 saved before" in strip._status.value
    sent = []
    monkeypatch.setattr(strip.downloader, "send_file",
                        lambda data, name, mime: sent.append((data.read(), name)))
    strip._download_all.click()
    assert not strip.errors.value
    with zipfile.ZipFile(io.BytesIO(sent[0][0])) as zf:
        names = set(zf.namelist())
        root = next(iter(names)).split("/")[0]
        lines = zf.read(f"{root}/{LOG_NAME}").decode().splitlines()
    assert len(lines) == 120
    assert all(f"{root}/{json.loads(line)['file']}" in names for line in lines)


@pytest.fixture
def sent(monkeypatch):
    """The widget messages the kernel sends, by type (``comm_open``, ``comm_msg``,
    ``comm_close``), as they would go to the page."""
    import comm

    counts: dict[str, int] = {}

    def publish(self, msg_type, *args, **kwargs):
        counts[msg_type] = counts.get(msg_type, 0) + 1

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish)
    return counts


def test_turning_pages_fills_the_same_cards_a_few_messages_each(tmp_path, sent):
    """jupyter_server stops forwarding a kernel's updates and closes past 1,000 messages a
    second (3,000 in its 3 s window): a turn that made a page's cards anew and closed the old
    ones sent about 1,450, and in Voila a turned page sometimes never showed (the CI failure
    of test_history_pages_turned_in_voila_show_working_cards). Cards are filled again; only
    their buttons are made for each result."""
    import ipywidgets

    instances = ipywidgets.widgets.widget._instances  # the kernel's widget models
    make_session(tmp_path / "s", 600, distinct=600)  # every result its own picture
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    assert strip.wait_thumbnails(60)
    first, cards = len(instances), list(strip._cards)
    sent.clear()
    for _ in range(10):
        strip.pager.older.click()
        assert strip.wait_thumbnails(60)
    assert "Results 501-550" in strip.pager.place.value
    assert strip._cards == cards  # the same 50 cards, each showing another result
    # what the server counts against its limit: updates and closes; a card's 3 buttons are
    # made and closed (a placeholder and its size, the caption, the thumbnail and its size,
    # the buttons' row: 6 updates)
    assert sent["comm_msg"] + sent["comm_close"] <= 10 * 50 * 10  # 1,450 a turn before
    assert sent["comm_open"] == sent["comm_close"] == 10 * 50 * 3
    assert len(instances) == first  # nothing left open
    oldest = strip._results[-1]
    assert strip._cards[-1].result is oldest
    assert oldest.created == 1_700_000_000.0 + 50  # 501st newest of 600
    assert f"<i>{oldest.inputs['prompt']}</i>" in strip._cards[-1].caption.value
    shared = (strip._auto, strip._buttons_row, strip._button_style, strip._caption_style)
    assert all(w.comm is not None for w in shared)
    show = strip._cards[-1].children[2].children[0]
    assert show.layout is strip._auto
    chosen = []
    strip.on_select(chosen.append)
    show.click()
    assert chosen == [oldest]


def test_a_button_pressed_as_the_page_turns_never_acts_on_the_next_pages_result(tmp_path,
                                                                                monkeypatch):
    """A click is a message naming only its button: one pressed just before the page showed
    the next result reached the card already filled with it (att hist F1: Download on
    "card 239" downloaded card 189). Each result has its own buttons; the last page's are
    closed (the kernel drops a press on them) and, called anyway, act on their own result."""
    make_session(tmp_path / "s", 120, distinct=120)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s", folder=tmp_path / "out")
    assert strip.wait_thumbnails(30)
    card = strip._cards[1]
    seen = card.result  # what the user saw on the card when pressing
    show, save, download = card.children[2].children
    go = strip._senders[seen]._go
    strip.pager.older.click()  # the turn the kernel handles before the press
    assert card.result is not seen
    assert all(w.comm is None for w in (show, save, download))  # the press is dropped
    sent = []
    monkeypatch.setattr(strip.downloader, "send_file",
                        lambda data, name, mime: sent.append(data))
    download.click()  # were it delivered: the result the user saw
    from clipdrop_widgets import read_record

    assert read_record(sent[0])["prompt"] == seen.inputs.get("prompt")
    chosen = []
    strip.on_select(chosen.append)
    new_show, _, new_download = card.children[2].children
    new_download.click()
    assert read_record(sent[1])["prompt"] == card.result.inputs.get("prompt")
    new_show.click()
    assert chosen == [card.result]
    assert go is None or go.comm is None  # the Send of the page before: closed too


def test_results_another_page_writes_keep_the_page_browsed(tmp_path):
    """A Studio's page watches its session folder (results of a page left during a Run); on
    an older page a catch-up used to empty the strip and throw the user back to the newest
    page (att hist F2). The page browsed stays; the newest page shows them first."""
    make_session(tmp_path / "s", 120, distinct=40)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    strip.pager.older.click()
    shown = prompts(strip)
    chosen = strip.select(-1)  # the newest of page 2, outlined
    other = Session(tmp_path / "s")
    for i in range(3):
        other.add(Result(picture(500 + i), "image/png", "text_to_image",
                         {"prompt": f"from another page {i}"}))
    assert strip.catch_up()
    assert prompts(strip) == shown and "Results 51-100 of 123" in strip.pager.place.value
    assert strip.chosen is chosen
    strip.pager.newer.click()
    assert prompts(strip)[-1] == "from another page 2"
    assert not any(c.layout.border.startswith("2px solid #") for c in strip._cards)
    strip.pager.older.click()  # back to the result shown: outlined again
    outlined = [c.result for c in strip._cards if c.layout.border.startswith("2px solid #")]
    assert len(outlined) == 1 and outlined[0].inputs == chosen.inputs


def test_a_short_page_keeps_its_spare_cards_and_the_strip_stays_bounded(tmp_path, sent):
    import ipywidgets

    instances = ipywidgets.widgets.widget._instances
    make_session(tmp_path / "s", 60, distinct=20)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    assert strip.wait_thumbnails(30)
    first = len(instances)
    sent.clear()
    strip.pager.older.click()  # the 10 oldest: 40 cards put aside, none closed
    assert len(strip._cards) == 10 and len(strip._spare) == 40
    assert len(instances) == first and sent["comm_close"] == 10 * 3  # 10 cards' buttons
    for _ in range(5):
        strip.pager.newer.click()
        strip.pager.older.click()
    assert strip.wait_thumbnails(30)
    assert len(instances) == first and sent["comm_open"] == sent["comm_close"]
    strip.pager.words.value = "fox"  # a filter: the first page of foxes
    assert all("fox" in (p or "") for p in prompts(strip))
    assert len(strip._cards) + len(strip._spare) <= 50
    strip.clear()
    assert not strip._cards and len(strip._spare) <= 50 and len(instances) <= first


def test_a_thumbnail_made_after_its_page_was_turned_stays_off_the_new_page(tmp_path,
                                                                         monkeypatch):
    """A late thumbnail (made on the maker's thread) for a card now showing another result
    does not go in its picture."""
    from clipdrop_widgets.widgets import thumbnails

    make_session(tmp_path / "s", 100, distinct=100)  # no thumbnails kept yet
    go = threading.Event()
    shrink = thumbnails.shrink
    monkeypatch.setattr(thumbnails, "shrink", lambda *a: go.wait(30) and shrink(*a))
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    threading.Event().wait(0.2)  # the maker is making the first page's first thumbnail
    strip.pager.older.click()  # turned while it waits
    shown = []  # every picture each card shows from now on
    for card in strip._cards:
        card.picture.observe(lambda change, c=card: shown.append((c, change["new"])), "value")
    go.set()
    assert strip.wait_thumbnails(60)
    folder = tmp_path / "s"
    own = {id(card): thumbnails.thumbnail_bytes(card.result, 128, folder)[0]
           for card in strip._cards}
    assert shown and all(value == own[id(card)] for card, value in shown)
    assert all(card.picture.value == own[id(card)] for card in strip._cards)



def test_a_refilled_card_shows_its_new_result_before_offering_its_buttons(tmp_path,
                                                                          monkeypatch):
    """The page applies a kernel's messages in order: new buttons sent before the new picture
    and caption were live under the last result's for 100-450 ms, and pressed there acted on
    a result the card did not show yet (reattack F1). The picture and caption go first."""
    import comm

    make_session(tmp_path / "s", 120, distinct=120)
    strip = HistoryStrip(max_items=50, session_dir=tmp_path / "s")
    assert strip.wait_thumbnails(30)
    card = strip._cards[3]
    order: list[tuple[str, str]] = []

    def publish(self, msg_type, data=None, *args, **kwargs):
        state = (data or {}).get("state", {}) if isinstance(data, dict) else {}
        order.append((self.comm_id, msg_type, tuple(state)))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish)
    strip.pager.older.click()
    assert strip.wait_thumbnails(30)
    mine = {card.picture.model_id: "picture", card.caption.model_id: "caption",
            card._row.model_id: "buttons"}
    seen = [mine[c] for c, kind, _keys in order if c in mine and kind == "comm_msg"]
    assert seen.index("caption") < seen.index("buttons")
    assert seen.index("picture") < seen.index("buttons")
