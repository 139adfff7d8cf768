"""One gateway per database, and seats as teachers run them (labels, rosters, reissue, expiry).

Before issue 19 a second ``gateway serve`` on the same database started, settled the first
one's reservations and paced the key at twice the room's rate; labels could hold terminal
escapes and bidi overrides.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from gateway_fake import post

from clipdrop_widgets.contract.errors import ConfigurationError
from clipdrop_widgets.gateway import Ledger, serve_gateway
from clipdrop_widgets.gateway import lock as lock_module
from clipdrop_widgets.gateway.lock import GatewayRunningError, ServeLock

CLI = [sys.executable, "-m", "clipdrop_widgets", "gateway"]


def test_a_second_gateway_on_the_same_database_refuses_and_names_the_first(make_fake,
                                                                          make_gateway,
                                                                          tmp_path, ledger):
    fake = make_fake(delay=1.0)
    first = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    with pytest.raises(GatewayRunningError) as refused:
        serve_gateway(tmp_path / "room.db", port=0, upstream=fake.url, upstream_key="k",
                      background=True)
    assert f"pid {os.getpid()}" in str(refused.value) and first.url in str(refused.value)
    assert post(first.url, "/text-to-image/v1", seat,
                files={"prompt": (None, "still served")}).status_code == 200
    first.close()
    again = serve_gateway(tmp_path / "room.db", port=0, upstream=fake.url, upstream_key="k",
                          background=True)
    assert again is not None
    again.close()


def test_the_command_line_refuses_a_second_serve(make_gateway, tmp_path, make_fake):
    fake = make_fake()
    first = make_gateway(fake.url)
    env = {**os.environ, "CLIPDROP_API_KEY": "sk-room"}
    second = subprocess.run([*CLI, "serve", "--db", str(tmp_path / "room.db"), "--port", "0",
                             "--upstream", fake.url], capture_output=True, text=True,
                            timeout=60, env=env)
    assert second.returncode == 2
    assert "another gateway already serves room.db" in second.stderr
    assert first.url in second.stderr


@pytest.mark.parametrize("by_flock", [True, False], ids=["linux-flock", "identity-file"])
@pytest.mark.parametrize("link", ["hard", "symbolic"])
def test_a_gateway_on_a_link_to_a_served_database_is_refused(tmp_path, monkeypatch, link,
                                                             by_flock):
    """The lock went by path: a hard link (another name, same file) let a second gateway
    start on a served ledger. Each way the file itself is locked refuses both links."""
    if by_flock and not lock_module._FLOCK:
        pytest.skip("the database's own flock is the lock on Linux only")
    monkeypatch.setattr(lock_module, "_FLOCK", by_flock)
    db = tmp_path / "room.db"
    Ledger(db).close()
    elsewhere = tmp_path / ("other" if by_flock else ".")  # an identity file: same folder
    elsewhere.mkdir(exist_ok=True)
    alias = elsewhere / "alias.db"
    (os.link if link == "hard" else os.symlink)(db, alias)
    first = ServeLock(db)
    first.acquire()
    try:
        with pytest.raises(GatewayRunningError) as refused:
            ServeLock(alias).acquire()
        said = str(refused.value)
        assert said.startswith("another gateway already serves")
        assert "one gateway per database file" in said and "hard link" in said
    finally:
        first.release()
    second = ServeLock(alias)
    second.acquire()  # the first gave the file up: the link may serve it now
    second.release()


def test_a_ledger_with_a_second_name_is_refused_under_either_name(tmp_path):
    """SQLite keeps the journal beside the name it opened: a top-up through a hard link
    vanished, and a gateway restarted through one after kill -9 spent charged credits again
    (att23 #1). A hard-linked ledger is refused by every command, under both names; a
    symbolic link still opens the one file."""
    db = tmp_path / "room.db"
    ledger = Ledger(db)
    ledger.create_seats(1, 20)
    ledger.close()
    os.symlink(db, tmp_path / "sym.db")
    Ledger(tmp_path / "sym.db").close()  # one name: fine
    os.link(db, tmp_path / "hard.db")
    for name in ("room.db", "hard.db"):
        with pytest.raises(ConfigurationError, match=r"has 2 names \(hard links\): one ledger "
                                                     r"file must have one name"):
            Ledger(tmp_path / name)
    os.unlink(tmp_path / "hard.db")
    [row] = Ledger(db).seats()  # back to one name: as it was
    assert row.spent == 0


@pytest.mark.parametrize("token", ["", "ab", "x" * 15])
def test_serve_refuses_a_short_admin_token(tmp_path, token):
    """A two-character admin token could be guessed by anyone who reaches the gateway."""
    (tmp_path / "admin.txt").write_text(token + "\n")
    refused = subprocess.run([*CLI, "serve", "--db", str(tmp_path / "room.db"), "--port", "0",
                              "--admin-token-file", str(tmp_path / "admin.txt")],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "CLIPDROP_API_KEY": "sk-room"})
    assert refused.returncode == 2
    assert f"has {len(token)} characters; it needs at least 16" in refused.stderr
    assert "x" * 15 not in refused.stderr  # the token itself is not echoed


@pytest.mark.parametrize("label", ["seat\u202e10", "a\x1b[31mred", "tab\there", "x" * 41,
                                   "zero\u200bwidth", ""])
def test_labels_must_be_short_printable_text(ledger, label):
    with pytest.raises(ConfigurationError, match="label"):
        ledger.create_seats(1, 5, label=label)
    assert ledger.seats() == []


def test_a_roster_makes_one_seat_per_person_and_refuses_unprintable_names(tmp_path):
    roster = tmp_path / "ROSTER.csv"
    roster.write_text("Name,Email,credits\nAda Lovelace,ada@example.org,\n"
                      "Grace Hopper,grace@example.org,50\n", encoding="utf-8")
    db = str(tmp_path / "room.db")
    made = subprocess.run([*CLI, "seats", "import", "--db", db, str(roster), "--credits", "20"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    lines = [line.split("\t") for line in made.stdout.splitlines()]
    assert [(label, name) for label, _, name in lines] == [("seat-01", "Ada Lovelace"),
                                                          ("seat-02", "Grace Hopper")]
    with Ledger(db) as ledger:
        assert [(s.contact, s.credits) for s in ledger.seats()] == [("Ada Lovelace", 20),
                                                                    ("Grace Hopper", 50)]
    listed = subprocess.run([*CLI, "seats", "list", "--db", db], capture_output=True, text=True,
                            timeout=60).stdout.splitlines()
    assert listed[0].startswith("seat-01\t0 spent\t20 left")
    assert listed[0].endswith("\tAda Lovelace")
    roster.write_text("name\nMallory\u202eyrollaM\n", encoding="utf-8")
    refused = subprocess.run([*CLI, "seats", "import", "--db", db, str(roster),
                              "--credits", "20"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "line 2" in refused.stderr and "U+202E" in refused.stderr


def test_reissue_gives_a_new_key_to_the_same_seat_and_balance(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(label, old)] = ledger.create_seats(1, 10)
    assert post(gateway.url, "/text-to-image/v1", old,
                files={"prompt": (None, "a")}).status_code == 200
    ledger.revoke(label)  # it leaked
    new = ledger.reissue(label)
    assert post(gateway.url, "/text-to-image/v1", old,
                files={"prompt": (None, "b")}).status_code == 403
    answer = post(gateway.url, "/text-to-image/v1", new, files={"prompt": (None, "b")})
    assert answer.status_code == 200 and answer.headers["x-remaining-credits"] == "6"
    assert [s.label for s in ledger.seats()] == [label]


def test_reissuing_a_revoked_seat_says_it_is_let_back_in(tmp_path):
    """A teacher who revoked a seat and reissues its key is told the seat works again
    (before, the command said only "a new key")."""
    db = str(tmp_path / "room.db")
    with Ledger(db) as ledger:
        [(revoked, _key)] = ledger.create_seats(1, 10)
        [(active, _key)] = ledger.create_seats(1, 10)
        ledger.revoke(revoked)

    def reissue(label: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "seats", "reissue", "--db", db, label],
                              capture_output=True, text=True, timeout=60)

    back = reissue(revoked)
    assert back.returncode == 0 and back.stdout.startswith(f"{revoked}\t")
    assert f"{revoked} was revoked: the new key works" in back.stderr
    assert f"seats revoke {revoked}" in back.stderr
    plain = reissue(active)
    assert plain.returncode == 0 and "was revoked" not in plain.stderr
    with Ledger(db) as ledger:
        assert all(s.revoked is None for s in ledger.seats())


def test_late_seats_inherit_the_rooms_expiry(ledger):
    ledger.create_seats(2, 10, expires_in=3600)
    room_expiry = ledger.seats()[0].expires
    time.sleep(0.01)
    ledger.create_seats(1, 10)  # a late arrival, no --expires
    assert [s.expires for s in ledger.seats()] == [room_expiry] * 3
    assert ledger.create_seats(1, 10, expires_in=60)
    assert ledger.seats()[-1].expires < room_expiry


def test_the_gateway_answers_before_the_packages_client_gives_up():
    """At 150 s for the service against the client's 120 s to read, a call taking 120-150 s
    was charged and its picture lost to a client that had left (att23 #8)."""
    from clipdrop_widgets.api.constants import DEFAULT_TIMEOUT
    from clipdrop_widgets.gateway.upstream import UPSTREAM_TIMEOUT

    assert DEFAULT_TIMEOUT[1] >= UPSTREAM_TIMEOUT + 10
