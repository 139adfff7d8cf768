"""Writing and reading records safely: a kill never empties a saved picture, a killed export
leaves nothing behind for long, and reading a record never reads without bound.

The kill tests run the writer in another process that SIGKILLs itself at a chosen moment of
the write (while the record is built, or once the new bytes are written but not yet renamed),
then look at what is on disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from clipdrop_widgets import Client, Session, export_html, read_record
from clipdrop_widgets.contract.errors import ConfigurationError

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

_SAVE_THEN_DIE = textwrap.dedent("""
    import os, signal, sys
    from clipdrop_widgets import Client
    import clipdrop_widgets.api.records as records
    import clipdrop_widgets.api.storage as storage

    target, moment = sys.argv[1], sys.argv[2]
    result = Client().text_to_image("a fox")
    result.save(target)  # a good file first
    print("saved", flush=True)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if moment == "building":  # while the record is built and put in the bytes
        records.with_record = die
    else:  # the new bytes written to disk, not yet renamed over the target
        storage.os.fsync = die
    Client().text_to_image("a hen").save(target)
    print("not killed", flush=True)
""")


@pytest.mark.parametrize("moment", ["building", "writing"])
def test_a_save_killed_midway_leaves_the_earlier_picture_whole(tmp_path: Path, moment) -> None:
    target = tmp_path / "out.png"
    proc = subprocess.run([sys.executable, "-c", _SAVE_THEN_DIE, str(target), moment],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL and proc.stdout.split() == ["saved"], proc.stderr
    with Image.open(target) as im:
        im.load()  # whole, not an empty or torn file
    assert read_record(target)["prompt"] == "a fox"
    Client().text_to_image("an owl").save(target)  # the next save cleans up after the killed one
    assert read_record(target)["prompt"] == "an owl"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_an_export_removes_what_a_killed_export_left_and_nothing_else(tmp_path: Path) -> None:
    session = Session(tmp_path / "s")
    session.add(Client().text_to_image("a fox"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)  # a process that has ended: what a kill -9 leaves
    left = tmp_path / f".r.html.{pid}-0a1b2c3d.tmp"
    left.write_bytes(b"<!doctype html> half")
    alive = tmp_path / f".r.html.{os.getpid()}-0a1b2c3d.tmp"  # an export running now
    theirs = tmp_path / ".notes.txt.12345-abcd.tmp"  # another program's file
    alive.write_bytes(b"")
    theirs.write_bytes(b"")
    export_html(session, tmp_path / "r.html")
    assert not left.exists() and alive.exists() and theirs.exists()
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")


def test_read_record_refuses_a_device_and_a_pipe_without_reading_them(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero") or not hasattr(os, "mkfifo"):
        pytest.skip("needs /dev/zero and named pipes (POSIX)")
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read_record("/dev/zero")  # endless: read before, it filled the memory
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        read_record(fifo)  # no writer: opening it used to block for ever


def test_read_record_does_not_read_a_file_larger_than_any_picture_it_writes(
        tmp_path: Path, monkeypatch) -> None:
    import clipdrop_widgets.api.records as records

    picture = tmp_path / "fox.png"
    Client().text_to_image("a fox").save(picture)
    size = picture.stat().st_size
    monkeypatch.setattr(records, "FILE_LIMIT", size)
    assert read_record(picture)["prompt"] == "a fox"  # at the limit: read
    monkeypatch.setattr(records, "FILE_LIMIT", size - 1)
    assert read_record(picture) is None  # over it: not ours, not read
