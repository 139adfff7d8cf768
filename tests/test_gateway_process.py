"""The gateway as a teacher runs it: the command line, a process that can be killed, its logs.

The gateway runs as ``python -m clipdrop_widgets gateway serve`` in a subprocess, the room's key
in its environment, against the strict fake of the service on loopback.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from gateway_fake import ROOM_KEY, FakeService, multipart_body, png_bytes, post

CLI = [sys.executable, "-m", "clipdrop_widgets", "gateway"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


class _Served:
    """A gateway subprocess; ``url`` once it listens, ``log`` (stdout and stderr) once ended."""

    def __init__(self, db: Path, *args: str, env: dict[str, str]):
        self._out = db.parent / f"gateway-{time.monotonic_ns()}.log"
        self._file = self._out.open("w")
        self.process = subprocess.Popen(
            [*CLI, "serve", "--db", str(db), "--port", "0", "--log-level", "debug", *args],
            stdout=self._file, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"listening on (http://\S+) ", self._out.read_text())
            if found:
                self.url = found.group(1)
                return
            assert self.process.poll() is None, self._out.read_text()
            time.sleep(0.05)
        raise AssertionError("the gateway did not start: " + self._out.read_text())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self._file.close()
        return self._out.read_text()


@pytest.fixture
def env() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_")}
    environ["CLIPDROP_API_KEY"] = ROOM_KEY
    return environ


@pytest.fixture
def fake() -> Iterator[FakeService]:
    service = FakeService(room_key=ROOM_KEY).start()
    yield service
    service.close()


def _seats(db: Path, count: int, credits: int, *more: str) -> list[tuple[str, str]]:
    made = _cli("seats", "add", "--db", str(db), "--count", str(count), "--credits",
                str(credits), *more)
    assert made.returncode == 0, made.stderr
    return [tuple(line.split("\t")) for line in made.stdout.splitlines()]  # type: ignore[misc]


def test_seats_add_prints_only_label_tab_key_and_the_database_keeps_hashes(tmp_path):
    db = tmp_path / "room.db"
    made = _cli("seats", "add", "--db", str(db), "--count", "3", "--credits", "25",
                "--label", "lab", "--expires", "6h")
    assert made.returncode == 0
    lines = made.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["lab-01", "lab-02", "lab-03"]
    keys = [line.split("\t")[1] for line in lines]
    assert all(re.fullmatch(r"cdw-seat-[A-Za-z0-9_-]{32}", k) for k in keys)
    assert "shown only now" in made.stderr and "cdw-seat-" not in made.stderr
    more = _seats(db, 1, 5, "--label", "lab")
    assert more[0][0] == "lab-04"
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("room"))
    assert not any(k.encode() in stored for k in keys)
    listed = _cli("seats", "list", "--db", str(db)).stdout.splitlines()
    assert listed[0].split("\t")[:4] == ["lab-01", "0 spent", "25 left", "0 requests"]
    assert listed[0].endswith("last use never")
    topped = _cli("seats", "topup", "--db", str(db), "lab-02", "--credits", "5")
    assert topped.stdout.split("\t")[2] == "30 left"
    assert _cli("seats", "revoke", "--db", str(db), "lab-03").returncode == 0
    assert _cli("seats", "list", "--db", str(db)).stdout.splitlines()[2].endswith("revoked")
    unknown = _cli("seats", "revoke", "--db", str(db), "nobody")
    assert unknown.returncode == 1 and "no seat called 'nobody'" in unknown.stderr
    bad = _cli("seats", "add", "--db", str(db), "--count", "1", "--credits", "1",
               "--expires", "soon")
    assert bad.returncode == 2 and "duration" in bad.stderr


def test_revoking_from_the_command_line_stops_a_running_gateway(tmp_path, env, fake):
    db = tmp_path / "room.db"
    [(label, key)] = _seats(db, 1, 10)
    served = _Served(db, "--upstream", fake.url, env=env)
    try:
        assert post(served.url, "/text-to-image/v1", key,
                     files={"prompt": (None, "a")}).status_code == 200
        assert _cli("seats", "revoke", "--db", str(db), label).returncode == 0
        started = time.monotonic()
        while time.monotonic() - started < 2.0:
            status = post(served.url, "/text-to-image/v1", key,
                           files={"prompt": (None, "b")}).status_code
            if status == 403:
                break
        assert status == 403
        assert fake.received == 1
    finally:
        served.stop()


def _spent(db: Path) -> dict[str, float]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT label, spent + reserved FROM seats").fetchall())


def test_a_killed_gateway_keeps_every_charge_and_gives_no_credit_back(tmp_path, env, fake):
    fake.delay = 0.6  # calls are in flight upstream when the gateway dies
    db = tmp_path / "room.db"
    seats = _seats(db, 3, 100)
    served = _Served(db, "--upstream", fake.url, env=env)  # 60/min: a slot a second
    pool = ThreadPoolExecutor(12)
    try:
        for i in range(12):
            _, key = seats[i % 3]
            pool.submit(post, served.url, "/text-to-image/v1", key,
                        files={"prompt": (None, f"prompt {i}")})
        while fake.received < 3:
            time.sleep(0.01)
        settled_before = _spent(db)
        served.kill()  # mid-run: one call in flight upstream, nine queued
    finally:
        pool.shutdown(wait=True)
        served.stop()
    assert sum(settled_before.values()) >= 2 * 2  # two answered and settled before the kill
    # Nothing is given back: every call the service received (and charged) is on a seat.
    assert sum(_spent(db).values()) == fake.charged == 2 * fake.received
    restarted = _Served(db, "--upstream", fake.url, env=env)
    try:
        after = _spent(db)
        for label, spent in settled_before.items():
            assert after[label] >= spent
        assert sum(after.values()) == fake.charged
        _, key = seats[0]
        usage = requests.get(restarted.url + "/gateway/v1/seat", headers={"x-api-key": key},
                             timeout=10).json()
        assert usage["credits_reserved"] == 0  # the orphans were settled, not released
        assert usage["credits_remaining"] == 100 - after[usage["label"]]
    finally:
        log = restarted.stop()
    assert "calls had gone out (kept as charged)" in log


def test_the_room_key_appears_in_no_answer_header_log_line_or_database_row(tmp_path, env, fake):
    db = tmp_path / "room.db"
    (_, alice), (_, bob), (label, carol) = _seats(db, 3, 3)
    served = _Served(db, "--upstream", fake.url, env=env)
    answers: list[requests.Response] = []
    try:
        image, mask = png_bytes((40, 30)), png_bytes((40, 30), 0, "L")
        body, kind = multipart_body([("image_file", image), ("mask_file", mask)], "b1")
        for key in (alice, bob):  # a call, then a cache hit
            answers.append(post(served.url, "/cleanup/v1", key, data=body,
                                 headers={"Content-Type": kind}))
        answers += [
            post(served.url, "/text-to-image/v1", alice, files={"prompt": (None, "fox")}),
            post(served.url, "/text-to-image/v1", alice, files={"prompt": (None, "wolf")}),
            post(served.url, "/text-to-image/v1", None, files={"prompt": (None, "x")}),
            post(served.url, "/text-to-image/v1", ROOM_KEY, files={"prompt": (None, "x")}),
            post(served.url, "/text-to-image/v1", bob, files={"prompt": (None, "")}),
            post(served.url, "/nowhere", bob),
            requests.get(served.url + "/text-to-image/v1", headers={"x-api-key": bob},
                         timeout=10),
            requests.get(served.url + "/gateway/v1/seat", headers={"x-api-key": bob},
                         timeout=10),
        ]
        fake.refuse_with = 403  # the room's key refused upstream: a 503 to the seat
        answers.append(post(served.url, "/text-to-image/v1", carol,
                             files={"prompt": (None, "owl")}))
        _cli("seats", "revoke", "--db", str(db), label)
        answers.append(post(served.url, "/text-to-image/v1", carol,
                             files={"prompt": (None, "owl")}))
    finally:
        log = served.stop()
    statuses = [a.status_code for a in answers]
    assert statuses == [200, 200, 200, 402, 401, 403, 400, 404, 405, 200, 503, 403]
    for answer in answers:
        assert ROOM_KEY not in answer.text
        assert ROOM_KEY.encode() not in answer.content
        assert not any(ROOM_KEY in f"{k}: {v}" for k, v in answer.headers.items())
    assert "DEBUG" in log and "seat-01 POST /cleanup/v1 200" in log  # the log was captured
    assert ROOM_KEY not in log
    assert not any(key in log for key in (alice, bob, carol))
    files = [p for p in tmp_path.iterdir() if p.name.startswith("room.db")]
    assert files
    for path in files:
        assert ROOM_KEY.encode() not in path.read_bytes(), path.name
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT * FROM seats").fetchall()
        rows += conn.execute("SELECT * FROM charges").fetchall()
    assert rows and not any(ROOM_KEY in str(row) for row in rows)
    assert {s.key for s in fake.seen} == {ROOM_KEY}
