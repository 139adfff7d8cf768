"""A session folder trusts nothing, and several processes can write one.

The hostile folder is built the way an attacker (or a colleague's zip) would: lines naming
``../`` paths, absolute paths, inputs outside, a link in ``images/`` and an operation that is a
path. Opening it must read, show, zip and save nothing outside the folder, skip each bad line
with a notice naming it, and open every good line. The concurrency test runs four real
processes that reopen the session as kernels do and add 300 results each.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdrop_widgets import ClipdropNotice, HistoryStrip, Result
from clipdrop_widgets.api.session import LOCK_NAME, LOG_NAME, Session
from clipdrop_widgets.api.storage import remove_stale_temporaries, write_atomic
from clipdrop_widgets.api.untrusted import safe_name

SECRET_BYTES = b"the owner's private file, never to be read"


def _png(seed: int, size: int = 256) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _good(session: Session, n: int) -> list[Result]:
    results = [Result(_png(i), "image/png", "text_to_image", {"prompt": f"a fox {i}"},
                      credits_consumed=1) for i in range(n)]
    for r in results:
        session.add(r)
    return results


def _hostile(tmp_path: Path) -> tuple[Path, list[Result]]:
    """A session with two good results and one line of each attack, in that order."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.png").write_bytes(SECRET_BYTES)
    folder = tmp_path / "s"
    session = Session(folder)
    good = _good(session, 2)
    base = session.records()[0]
    (folder / "images" / "link.png").symlink_to(outside / "x.png")
    (folder / "images" / "dirlink").symlink_to(outside, target_is_directory=True)
    bad = [
        {**base, "file": "../outside/x.png"},
        {**base, "file": str(outside / "x.png")},
        {**base, "inputs": {"image_file": {"file": "../outside/x.png", "describe": "x"}}},
        {**base, "file": "images/link.png"},
        {**base, "file": "images/dirlink/x.png"},
        {**base, "operation": "../../../outside/pwned"},
        {**base, "credits": "lots"},
        {k: v for k, v in base.items() if k != "file"},
        {**base, "content_type": "image/../../x"},
    ]
    with open(folder / LOG_NAME, "ab") as f:
        for record in bad:
            f.write(json.dumps(record).encode() + b"\n")
        f.write(b"{not json at all\n")
        f.write(b"[1, 2, 3]\n")
    return folder, good


def test_a_hostile_session_opens_its_good_lines_and_names_each_bad_one(tmp_path: Path) -> None:
    folder, good = _hostile(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = Session(folder)
        back = session.results()
    assert [r.data for r in back] == [r.data for r in good]
    told = [str(w.message) for w in caught if issubclass(w.category, ClipdropNotice)]
    assert len(told) == 11  # lines 3 to 13, each once
    for number in range(3, 14):
        assert any(f"line {number} skipped" in t for t in told), number
    assert "not inside the session folder" in told[0]
    assert "not one of the endpoint table's" in " ".join(told)
    assert session.problems == sorted(session.problems, key=lambda t: int(t.split("line ")[1]
                                                                          .split()[0]))
    for r in back:
        assert SECRET_BYTES not in r.data
        assert all(SECRET_BYTES not in data for data in r.files.values())


def test_download_all_zips_nothing_from_outside(tmp_path: Path) -> None:
    folder, good = _hostile(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        data = Session(folder).zip_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert all(SECRET_BYTES not in zf.read(n) for n in names)
    assert not any("link" in n or ".." in n or n.startswith("/") for n in names)
    assert sum(n.startswith("s/images/") for n in names) == len(good)


def test_save_all_writes_only_into_its_folder(tmp_path: Path) -> None:
    folder, good = _hostile(tmp_path)
    target = tmp_path / "saved"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        strip = HistoryStrip(session_dir=folder, folder=target)
    told = strip._status.value
    assert "11 lines of the session log skipped" in told  # shown, not just logged
    assert "line 3 skipped" in told
    paths = strip.save()
    assert len(paths) == len(good)
    assert all(Path(p).parent == target for p in paths)
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["x.png"]
    assert not list(tmp_path.rglob("pwned*"))


def test_names_are_reduced_to_one_harmless_file_name() -> None:
    assert safe_name("../../../outside/pwned") == "outside_pwned"
    assert safe_name("/etc/passwd") == "etc_passwd"
    assert safe_name(".hidden") == "hidden"
    assert safe_name("..") == "result"
    assert safe_name("cleanup-20261130-194012.png") == "cleanup-20261130-194012.png"
    assert len(safe_name("a" * 500)) == 120


# -- several processes -------------------------------------------------------------------------

def test_temporary_files_of_a_running_writer_are_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    _good(Session(folder), 1)
    images = folder / "images"
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        (images / f".a.png.{alive.pid}-0123abcd.tmp").write_bytes(b"in flight")
        (images / f".b.png.{dead.pid}-0123abcd.tmp").write_bytes(b"left by a kill")
        (images / ".c.png.0123abcd.tmp").write_bytes(b"an old version's, just now")
        _good(Session(folder), 1)  # a second kernel's first write
        left = sorted(p.name for p in images.glob(".*.tmp"))
        assert left == [f".a.png.{alive.pid}-0123abcd.tmp", ".c.png.0123abcd.tmp"]
        assert remove_stale_temporaries(images) == 0
    finally:
        alive.kill()
        alive.wait()
    assert remove_stale_temporaries(images) == 1


def test_write_atomic_names_its_temporary_file_with_its_process(tmp_path: Path,
                                                                monkeypatch) -> None:
    seen = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(Path(a).name), real(a, b)))
    write_atomic(tmp_path / "x.bin", b"1")
    assert seen[0].startswith(f".x.bin.{os.getpid()}-") and seen[0].endswith(".tmp")


def _half_made(folder: Path) -> Path:
    """A session another process is making: its lock and folders there, no manifest yet."""
    (folder / "images").mkdir(parents=True)
    (folder / "inputs").mkdir()
    lock = folder / LOCK_NAME
    lock.touch()
    return lock


def test_a_session_another_process_is_making_opens_and_a_foreign_folder_is_refused(
        tmp_path: Path) -> None:
    from filelock import FileLock

    from clipdrop_widgets import ConfigurationError

    folder = tmp_path / "s"
    lock = _half_made(folder)
    maker = FileLock(lock)
    maker.acquire()  # still making it: the opener waits for the lock, then sees the manifest
    opened: list[Session] = []
    opener = threading.Thread(target=lambda: opened.append(Session(folder)))
    opener.start()
    opener.join(0.5)
    assert opener.is_alive() and not opened  # waiting, not refused
    (folder / "session.json").write_text('{"kind": "clipdrop-widgets session"}')
    maker.release()
    opener.join(30)
    assert len(opened) == 1
    _good(opened[0], 1)
    assert len(Session(folder).results()) == 1

    for name, why in [("notes.txt", "a file of someone else's"),
                      ("photos", "a folder of someone else's")]:
        other = tmp_path / name.replace(".", "_")
        _half_made(other)
        (other / name).mkdir() if "." not in name else (other / name).write_text("mine")
        with pytest.raises(ConfigurationError, match="holds other files"):
            Session(other)
        assert sorted(p.name for p in other.iterdir()) == sorted(
            [LOCK_NAME, "images", "inputs", name]), why
    linked = tmp_path / "linked"
    (linked / "images").mkdir(parents=True)
    (tmp_path / "precious").write_text("not to be truncated")
    (linked / LOCK_NAME).symlink_to(tmp_path / "precious")
    with pytest.raises(ConfigurationError, match="holds other files"):
        Session(linked)
    assert (tmp_path / "precious").read_text() == "not to be truncated"


_ADDER = """
import hashlib, io, sys, time
import numpy as np
import pytest
from PIL import Image
from clipdrop_widgets import Result
from clipdrop_widgets.api.session import Session
folder, who, n, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rng = np.random.default_rng(who)
while time.time() < start:
    time.sleep(0.005)
session = None
for i in range(n):
    if i % 20 == 0:
        session = Session(folder)  # a new kernel on the same folder: its first write
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(buf, "PNG")
    data = buf.getvalue()
    session.add(Result(data, "image/png", "text_to_image", {"prompt": f"p{who}-{i}"}))
    print(hashlib.sha256(data).hexdigest(), flush=True)
"""


@pytest.mark.slow
def test_four_processes_times_300_adds_lose_nothing(tmp_path: Path) -> None:
    import time

    script = tmp_path / "adder.py"
    script.write_text(textwrap.dedent(_ADDER))
    folder = tmp_path / "s"
    start = time.time() + 3
    procs = [subprocess.Popen([sys.executable, str(script), str(folder), str(who), "300",
                               str(start)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for who in range(4)]
    made = []
    for proc in procs:
        out, err = proc.communicate(timeout=280)
        assert proc.returncode == 0, err[-2000:]
        made += out.split()
    assert len(made) == 1200
    session = Session(folder)
    back = session.results()
    assert session.problems == []
    assert sorted(hashlib.sha256(r.data).hexdigest() for r in back) == sorted(made)
    assert sorted(r.inputs["prompt"] for r in back) == sorted(
        f"p{who}-{i}" for who in range(4) for i in range(300))
    assert not list(folder.rglob(".*.tmp"))
