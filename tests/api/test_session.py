"""Sessions on disk: written as results arrive, read back after a hard kill, never a key.

The crash tests run the writer in another process and end it the hard way (``os._exit`` in the
middle of an append, SIGKILL at an arbitrary moment); a second process (this one) then reopens
the folder and finds every result whose ``add`` returned, byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from fault_server import UNPACED

from clipdrop_widgets import Client, read_record
from clipdrop_widgets.api.records import strip_record
from clipdrop_widgets.api.session import (
    DATA_DIR_ENV,
    LOG_NAME,
    Session,
    recent_sessions,
    sessions_dir,
)
from clipdrop_widgets.api.storage import append_jsonl, read_jsonl, repair_jsonl, write_atomic

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

SENTINEL = "sk-SENTINEL-5e1d7c0a9b3f42"


# -- the shared storage helpers ----------------------------------------------------------------

def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    write_atomic(target, b"one")
    write_atomic(target, b"two, longer")
    assert target.read_bytes() == b"two, longer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_a_torn_last_line_is_ignored_then_cut_before_the_next_append(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    append_jsonl(log, {"n": 1})
    append_jsonl(log, {"n": 2})
    with open(log, "ab") as f:
        f.write(b'{"n": 3, "half')  # a kill in the middle of a write
    assert read_jsonl(log) == [{"n": 1}, {"n": 2}]
    repair_jsonl(log)
    append_jsonl(log, {"n": 4})
    assert read_jsonl(log) == [{"n": 1}, {"n": 2}, {"n": 4}]


def test_a_line_changed_by_hand_is_named(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"n": 1}\nnot json\n{"n": 2}\n')
    with pytest.raises(ValueError, match="line 2 is not a JSON record"):
        read_jsonl(log)


# -- a session's records ------------------------------------------------------------------------

def _results(n: int) -> list:
    client = Client()
    return [client.text_to_image(f"a red fox number {i}") for i in range(n)]


def test_each_result_is_one_line_with_its_image_and_inputs_kept_once(tmp_path: Path) -> None:
    client = Client()
    photo = client.text_to_image("a small house")
    first = client.replace_background(photo, "a beach at night")
    second = client.replace_background(photo, "a snowy forest")
    session = Session(tmp_path / "s")
    assert not (tmp_path / "s").exists()  # made with the first result only
    for r in (first, second):
        session.add(r)
    records = session.records()
    assert [r["operation"] for r in records] == ["replace_background"] * 2
    assert [r["prompt"] for r in records] == ["a beach at night", "a snowy forest"]
    assert records[0]["source"] == "local engine" and records[0]["credits"] == 1
    sha = records[0]["inputs"]["image_file"]["sha256"]
    assert sha == records[1]["inputs"]["image_file"]["sha256"]  # the same photo, kept once
    assert len(list((tmp_path / "s" / "inputs").iterdir())) == 1
    assert hashlib.sha256((tmp_path / "s" / records[0]["inputs"]["image_file"]["file"])
                          .read_bytes()).hexdigest() == sha
    back = Session(tmp_path / "s").results()
    assert [r.data for r in back] == [first.data, second.data]
    assert back[0].files["image_file"] == first.files["image_file"]  # can be run again
    assert back[0].inputs["prompt"] == "a beach at night"
    assert back[0].created == first.created and back[0].is_preview


def test_results_with_the_same_pixels_in_one_second_keep_a_file_and_record_each(
        tmp_path: Path) -> None:
    """Two prompts giving identical bytes, and a cache hit of a paid call, in the same second:
    each result gets its own file carrying its own record; none overwrites another's."""
    from clipdrop_widgets import Result

    made = Client().text_to_image("a fox number 1")
    paid = Result(made.data, made.content_type, made.endpoint,
                  {"prompt": "a fox number 1"}, credits_consumed=1, created=made.created)
    cached = Result(made.data, made.content_type, made.endpoint,
                    {"prompt": "a fox number 1"}, credits_consumed=0, from_cache=True,
                    created=made.created)
    other = Result(made.data, made.content_type, made.endpoint,
                   {"prompt": "a fox number 2"}, credits_consumed=1, created=made.created)
    session = Session(tmp_path / "s")
    lines = [session.add(r) for r in (paid, cached, other)]
    files = [line["file"] for line in lines]
    assert len(set(files)) == 3 and files[1].endswith("-2.png"), files
    records = [read_record(tmp_path / "s" / f) for f in files]
    assert [r["prompt"] for r in records] == ["a fox number 1"] * 2 + ["a fox number 2"]
    assert [r["credits"] for r in records] == [1, 0, 1]  # the paid picture still says paid
    back = Session(tmp_path / "s").results()
    assert [r.data for r in back] == [made.data] * 3
    assert [r.credits_consumed for r in back] == [1, 0, 1]


def test_an_old_session_whose_lines_share_one_file_still_opens(tmp_path: Path) -> None:
    """Sessions written before each result had its own file: two lines naming one image."""
    session = Session(tmp_path / "s")
    first = session.add(Client().text_to_image("a fox number 1"))
    log = tmp_path / "s" / LOG_NAME
    log.write_bytes(log.read_bytes() * 2)  # the same file named twice, as old sessions did
    back = Session(tmp_path / "s").results()
    assert len(back) == 2 and back[0].data == back[1].data
    assert (tmp_path / "s" / first["file"]).exists()


def test_a_folder_of_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a clipdrop-widgets session folder"):
        Session(tmp_path)


def test_new_sessions_go_to_the_data_folder_and_recent_ones_are_listed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    a, b = Session(), Session()
    assert a.directory.parent == sessions_dir() == tmp_path / "data" / "sessions"
    assert a.directory != b.directory
    r = _results(3)
    a.add(r[0])
    b.add(r[1])
    b.add(r[2])
    os.utime(a.log_path, (1, 1))  # a older than b
    Session()  # an empty one is not offered
    assert len(list(sessions_dir().iterdir())) == 3
    assert [(i.path, i.results) for i in recent_sessions()] == [(b.directory, 2),
                                                                (a.directory, 1)]
    assert recent_sessions()[0].label.endswith("· 2 results")


def test_the_zip_holds_the_log_and_every_image(tmp_path: Path) -> None:
    session = Session(tmp_path / "s")
    results = _results(2)
    for r in results:
        session.add(r)
    with zipfile.ZipFile(io.BytesIO(session.zip_bytes())) as zf:
        names = zf.namelist()
        log = [json.loads(line) for line in zf.read(f"s/{LOG_NAME}").splitlines()]
        # each image as received, with its record inside (records.strip_record takes it out)
        assert [strip_record(zf.read(f"s/{rec['file']}")) for rec in log] == \
            [r.data for r in results]
        assert all(read_record(zf.read(f"s/{rec['file']}")) for rec in log)
    assert "s/session.json" in names


# -- crashes ------------------------------------------------------------------------------------

_WRITER = """
import hashlib, os, sys
from clipdrop_widgets import Client, read_record
from clipdrop_widgets.api.records import strip_record
from clipdrop_widgets.api import session as S
client = Client()
photo = client.text_to_image("a lighthouse")
session = S.Session(sys.argv[1])
mode = sys.argv[2]
for i in range(1000):
    if mode == "exit" and i == 3:  # die half-way through the fourth line
        def torn(path, record):
            with open(path, "ab") as f:
                f.write(b'{"operation": "replace_background", "pro')
                f.flush()
            os._exit(9)
        S.append_jsonl = torn
    r = client.replace_background(photo, f"scene {i}")
    session.add(r)
    print(hashlib.sha256(r.data).hexdigest(), flush=True)
"""


def _writer(tmp_path: Path, mode: str) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_WRITER))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_API")}
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "s"), mode],
                            stdout=subprocess.PIPE, text=True, env=env)


def _intact(folder: Path, written: list[str]) -> list:
    back = Session(folder).results()
    digests = [hashlib.sha256(r.data).hexdigest() for r in back]
    assert digests[:len(written)] == written  # every result whose add returned, in order
    for r in back:
        assert r.image.size[0] > 0  # whole images
        if r.endpoint == "replace_background":
            assert r.files["image_file"]  # and their input
    return back


def test_a_session_survives_os_exit_in_the_middle_of_a_line(tmp_path: Path) -> None:
    proc = _writer(tmp_path, "exit")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 9
    written = out.split()
    assert len(written) == 3
    folder = tmp_path / "s"
    assert not (folder / LOG_NAME).read_bytes().endswith(b"\n")  # the torn line is there
    assert len(_intact(folder, written)) == 3
    # reopen, add, reopen: the torn line is cut off, the new result follows the three
    session = Session(folder)
    extra = Client().text_to_image("after the crash")
    session.add(extra)
    again = _intact(folder, written)
    assert len(again) == 4 and again[-1].data == extra.data


@pytest.mark.slow
def test_a_session_survives_sigkill_at_any_moment(tmp_path: Path) -> None:
    proc = _writer(tmp_path, "forever")
    written = []
    while len(written) < 5:
        line = proc.stdout.readline()
        assert line, "the writer stopped early"
        written.append(line.strip())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    written += proc.stdout.read().split()
    back = _intact(tmp_path / "s", written)
    assert len(back) >= len(written)


# -- secrets ------------------------------------------------------------------------------------

def test_no_key_lands_in_a_session_folder(tmp_path: Path, make_served_engine) -> None:
    handle = make_served_engine(api_key=SENTINEL)
    client = Client(SENTINEL, base_url=handle.url, requests_per_minute=UNPACED)  # no 1 s turns
    session = Session(tmp_path / "s")
    photo = client.text_to_image("a cat")
    session.add(photo)
    session.add(client.replace_background(photo, "a garden"))
    session.add(client.cleanup(photo, photo.image.convert("L").point(lambda v: 255 * (v > 128))))
    files = [p for p in (tmp_path / "s").rglob("*") if p.is_file()]
    assert len(files) >= 6
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path
    assert SENTINEL.encode() not in session.zip_bytes()
    assert len(session.results()) == 3


def test_same_pixels_get_their_own_files_where_there_are_no_hard_links(tmp_path: Path,
                                                                     monkeypatch) -> None:
    """On a file system without hard links (FAT, some shares) names are reserved instead."""
    import clipdrop_widgets.api.storage as storage

    def no_links(*_args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(storage.os, "link", no_links)
    names = [storage.write_new(tmp_path, "pic", ".png", data, mode=0o600)
             for data in (b"first", b"second", b"third")]
    assert names == ["pic.png", "pic-2.png", "pic-3.png"]
    assert [(tmp_path / n).read_bytes() for n in names] == [b"first", b"second", b"third"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no temporary left
