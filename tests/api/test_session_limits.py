"""A session line or file that is out of bounds is skipped with a notice; the rest opens.

Each test is one finding of the adversarial review of issue 20 part A, built the way the
tester built it: a real session (real PNGs written by `Session.add`), then a hand-made line or
file. Opening must not raise, hang or blow up memory, and must name what was skipped.
"""

from __future__ import annotations

import io
import json
import os
import stat
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdrop_widgets import ClipdropNotice, HistoryStrip, Result
from clipdrop_widgets.api.session import LOG_NAME, Session, new_session_dir
from clipdrop_widgets.api.storage import read_jsonl
from clipdrop_widgets.contract.errors import RunLogError


def _png(seed: int, size: int = 256) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """A session of three results (one with an input photo)."""
    folder = tmp_path / "s"
    session = Session(folder)
    for i in range(2):
        session.add(Result(_png(i), "image/png", "text_to_image", {"prompt": f"a fox {i}"},
                           credits_consumed=1))
    session.add(Result(_png(9), "image/png", "cleanup", {"image_file": "photo"},
                       credits_consumed=1, files={"image_file": _png(5, 64)}))
    return folder


def _append(folder: Path, *lines: bytes | dict) -> None:
    with open(folder / LOG_NAME, "ab") as f:
        for line in lines:
            f.write((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n")


def _first(folder: Path) -> dict:
    return json.loads((folder / LOG_NAME).read_bytes().split(b"\n")[0])


def _open(folder: Path) -> tuple[Session, list[Result], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = Session(folder)
        results = session.results()
    return session, results, [str(w.message) for w in caught
                              if issubclass(w.category, ClipdropNotice)]


def _studio_opens(folder: Path) -> HistoryStrip:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        strip = HistoryStrip(session_dir=folder)
    assert strip.wait_thumbnails(30), "the page's thumbnails were not made"
    return strip


def test_a_deeply_nested_line_is_skipped_not_a_recursion_error(good: Path) -> None:
    _append(good, b"[" * 100_000 + b"]" * 100_000)
    _, results, told = _open(good)
    assert len(results) == 3
    assert any("line 4 skipped" in t for t in told)
    assert len(_studio_opens(good)._results) == 3


def test_a_sweep_log_with_a_deeply_nested_line_raises_run_log_error(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"index": 0}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    with pytest.raises(RunLogError, match="line 2"):
        read_jsonl(log)


@pytest.mark.parametrize("created", [1e308, float("nan"), float("inf"), -1e20, -1.0])
def test_a_created_out_of_range_is_skipped(good: Path, created: float) -> None:
    _append(good, json.dumps({**_first(good), "created": created}).encode())
    _, results, told = _open(good)
    assert len(results) == 3
    assert any("line 4 skipped" in t and "'created' is out of range" in t for t in told)
    assert len(_studio_opens(good)._results) == 3


def test_negative_credits_are_refused(good: Path) -> None:
    _append(good, {**_first(good), "credits": -1_000_000})
    _, results, told = _open(good)
    assert len(results) == 3
    assert any("'credits' is out of range" in t for t in told)


def _open_within(folder: Path, seconds: float) -> tuple[list[Result], list[str]]:
    """`_open` in a thread; fails (rather than hanging the test run) if it blocks."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(_open(folder)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert out, f"opening the session blocked for {seconds} s"
    return out[0][1], out[0][2]


def test_a_named_pipe_in_images_is_skipped_never_read(good: Path) -> None:
    os.mkfifo(good / "images" / "x.png")
    _append(good, {**_first(good), "file": "images/x.png"})
    results, told = _open_within(good, 20)
    assert len(results) == 3
    assert any("line 4 skipped: its file is not a regular file" in t for t in told)


def test_a_line_naming_a_folder_is_a_problem_and_counts_agree(good: Path) -> None:
    (good / "images" / "adir.png").mkdir()
    _append(good, {**_first(good), "file": "images/adir.png"})
    session, results, _ = _open(good)
    assert len(session.records()) == len(results) == 3
    assert session.problems and "not a regular file" in session.problems[0]


def _bomb(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")  # a few KB for hundreds of megapixels
    return buf.getvalue()


@pytest.mark.parametrize("side", [20_000, 13_000])
def test_an_image_over_the_pixel_limit_is_skipped_with_a_notice(good: Path, side: int) -> None:
    data = _bomb(side)
    assert len(data) < 100_000
    (good / "images" / "bomb.png").write_bytes(data)
    _append(good, {**_first(good), "file": "images/bomb.png", "sha256": None})
    _, results, told = _open(good)
    assert len(results) == 3
    assert any("bomb.png skipped" in t and "megapixels" in t for t in told)
    strip = _studio_opens(good)
    assert len(strip._results) == 3
    assert "bomb.png skipped" in strip._status.value  # shown where people look


def test_many_lines_naming_one_image_share_its_bytes(good: Path) -> None:
    _append(good, *[_first(good)] * 2000)
    _, results, _ = _open(good)
    assert len(results) == 2003
    assert len({id(r.data) for r in results}) == 3  # one copy of each file, not 2003


def test_a_hard_link_to_another_users_file_is_refused(good: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a file of another user needs root")  # CI runs as root
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png(7))
    os.chown(secret, 65534, 65534)
    os.link(secret, good / "images" / "hard.png")
    ours = good / "images" / "ours.png"  # a backup made with hard links (cp -al) still opens
    os.link(next((good / "images").glob("*text_to_image*")), ours)
    _append(good, {**_first(good), "file": "images/hard.png", "sha256": None},
            {**_first(good), "file": "images/ours.png"})
    _, results, told = _open(good)
    assert len(results) == 4
    assert any("line 4 skipped" in t and "hard link" in t for t in told)
    assert all(r.data != secret.read_bytes() for r in results)


def test_a_file_changed_after_it_was_saved_is_noted(good: Path) -> None:
    record = _first(good)
    (good / record["file"]).write_bytes(_png(42))
    _, results, told = _open(good)
    assert len(results) == 3
    assert any("does not match the sha256" in t for t in told)


def test_session_folders_and_files_are_the_owners_only(good: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    monkeypatch.setenv("CLIPDROP_WIDGETS_DATA_DIR", str(tmp_path / "data"))
    fresh = new_session_dir()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    for path in [good, *good.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.relative_to(good)} is {oct(mode)}"


def _texts(widget) -> list[str]:
    found = [widget.value] if isinstance(getattr(widget, "value", None), str) else []
    for child in getattr(widget, "children", ()):
        found += _texts(child)
    return found


def test_a_huge_prompt_is_cut_before_it_reaches_the_browser(good: Path) -> None:
    _append(good, {**_first(good), "prompt": "word " * 2_000_000})  # 10 MB
    texts = _texts(_studio_opens(good))
    assert any("word word" in t for t in texts)  # the card is there, its prompt cut
    assert max(len(t) for t in texts) < 20_000


def test_the_thumbnail_cache_reads_no_pipe_and_writes_through_no_link(good: Path,
                                                                     tmp_path: Path) -> None:
    _studio_opens(good)  # makes the cache
    cached = sorted((good / "thumbnails").iterdir())
    assert cached
    for path in cached:  # each replaced by a named pipe: a reader would wait forever
        path.unlink()
        os.mkfifo(path)
    results, _ = _open_within(good, 20)
    done: list = []
    thread = threading.Thread(target=lambda: done.append(_studio_opens(good)), daemon=True)
    thread.start()
    thread.join(30)
    assert done, "the history blocked on a named pipe in thumbnails/"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for path in (good / "thumbnails").iterdir():
        path.unlink()
    (good / "thumbnails").rmdir()
    (good / "thumbnails").symlink_to(elsewhere, target_is_directory=True)
    _studio_opens(good)
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    assert len(results) == 3


def test_a_log_that_is_a_pipe_or_a_link_is_not_read(good: Path, tmp_path: Path) -> None:
    from clipdrop_widgets.api.session import recent_sessions

    log = good / LOG_NAME
    elsewhere = tmp_path / "other.jsonl"
    elsewhere.write_bytes(log.read_bytes())
    log.unlink()
    log.symlink_to(elsewhere)
    _, results, told = _open(good)
    assert results == [] and any("not read" in t for t in told)
    log.unlink()
    os.mkfifo(log)
    results, told = _open_within(good, 20)
    assert results == [] and any("not a regular file" in t for t in told)
    done: list = []
    thread = threading.Thread(target=lambda: done.append(recent_sessions(folder=tmp_path)),
                              daemon=True)
    thread.start()
    thread.join(20)
    assert done == [[]], "the recent sessions menu blocked on a named pipe"
    with pytest.raises(RunLogError, match="not a regular file"):
        read_jsonl(log)  # a sweep's log: RunLogError, as for a line changed by hand
