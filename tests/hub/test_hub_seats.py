"""Hub seats without a whole hub: the gateway (real, on loopback) checks tokens with jupyterhub's
own `HubOAuth` against a small stand-in of the hub's REST API (``GET /hub/api/user`` for a
token's owner, ``GET /hub/api/users/NAME`` for groups and admin), also on loopback.

What a user would notice: the seat made on first use with the default or the roster's credits,
the 403 naming the group or the roster, a revoked token refused at once, the Studio's key box
line, and the token nowhere it must not be (repr, widget state, the gateway's log, its database).
The real hub runs in ``test_hub_workshop.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from clipdrop_widgets import (
    Client,
    ClipdropError,
    ConfigurationError,
    Ledger,
    ServerError,
    serve_gateway,
)
from clipdrop_widgets.api.hub import HUB_GATEWAY_ENV
from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.gateway.hub import (
    ADMIN_LOGIN_CACHE,
    HubPolicy,
    HubSeats,
    hub_seat_ids,
    read_roster,
)

SERVICE_TOKEN = "service-token-0123456789abcdef"
TOKENS = {"tok-alice-0123456789": "alice", "tok-bob-0123456789": "bob",
          "tok-carol-0123456789": "carol"}
COST = float(ENDPOINTS["text_to_image"].credits)
GROUPS = {"alice": ["workshop"], "bob": ["workshop"], "carol": []}


@dataclass
class FakeHub:
    url: str
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS))
    delay: float = 0.0  # seconds the hub takes to answer a token check (a stalled hub)
    # A token's scopes, when not its server's (which include access to the gateway).
    scopes: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=lambda: dict(GROUPS))
    users_delay: float = 0.0  # seconds the hub takes to read a user's model (groups, admin)
    user_reads: list[str] = field(default_factory=list)  # names whose model was read
    answer: bytes | None = None  # what /user answers instead of a model (a wrong API URL)


#: What a user's server token carries with the documented hub config (the `server` role).
SERVER_SCOPES = ["access:services!service=clipdrop-gateway", "access:servers!server=x/"]


class _User(RequestHandler):
    async def get(self) -> None:  # GET /hub/api/user: who owns the token
        await asyncio.sleep(self.settings["hub"].delay)
        if self.settings["hub"].answer is not None:
            self.finish(self.settings["hub"].answer)
            return
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        name = self.settings["hub"].tokens.get(token)
        if name is None:
            self.set_status(403)
            self.finish({"status": 403, "message": "Missing or invalid credentials"})
            return
        scopes = self.settings["hub"].scopes.get(token, SERVER_SCOPES)
        self.finish({"kind": "user", "name": name, "scopes": scopes})


class _Users(RequestHandler):
    async def get(self, name: str) -> None:  # GET /hub/api/users/NAME with the service's token
        hub = self.settings["hub"]
        hub.user_reads.append(name)
        await asyncio.sleep(hub.users_delay)
        if self.request.headers.get("Authorization") != f"token {SERVICE_TOKEN}":
            self.set_status(403)
            self.finish({"status": 403})
            return
        if name not in hub.groups:
            self.set_status(404)
            self.finish({"status": 404})
            return
        self.finish({"kind": "user", "name": name, "groups": hub.groups[name],
                     "admin": name == "alice"})


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    loop = asyncio.new_event_loop()
    sockets = bind_sockets(0, "127.0.0.1")
    hub = FakeHub(f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hub/api")
    app = Application([(r"/hub/api/user", _User), (r"/hub/api/users/([^/]+)", _Users)],
                      hub=hub)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = HTTPServer(app)
        server.add_sockets(sockets)
        ready.set()
        loop.run_forever()
        server.stop()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    # What the hub gives a managed service.
    monkeypatch.setenv("JUPYTERHUB_API_URL", hub.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_NAME", "clipdrop-gateway")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/clipdrop-gateway/")
    monkeypatch.setenv("JUPYTERHUB_CLIENT_ID", "service-clipdrop-gateway")
    monkeypatch.setenv("JUPYTERHUB_OAUTH_CALLBACK_URL", "/services/clipdrop-gateway/oauth_callback")
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    try:
        yield hub
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


def _gateway(tmp_path: Path, policy: HubPolicy):
    return serve_gateway(tmp_path / "room.db", port=0, hub=policy, background=True)


def _as_user(monkeypatch: pytest.MonkeyPatch, url: str, token: str, name: str) -> None:
    """The environment of ``name``'s server: the hub's token and user, the teacher's gateway."""
    monkeypatch.setenv(HUB_GATEWAY_ENV, url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    monkeypatch.setenv("JUPYTERHUB_USER", name)


def test_client_spends_the_hub_users_seat_made_on_first_use(fake_hub, tmp_path, monkeypatch,
                                                             caplog):
    caplog.set_level(logging.INFO, logger="clipdrop_widgets.gateway")
    with _gateway(tmp_path, HubPolicy(credits=5, group="workshop")) as gateway:
        _as_user(monkeypatch, gateway.url, "tok-alice-0123456789", "alice")
        with Client() as client:
            assert client.hub_user == "alice" and client.base_url == gateway.url
            assert "tok-alice" not in repr(client)
            result = client.text_to_image("a kite over the dunes")
            assert result.image.size[0] > 0
            assert client.remaining_credits == 5 - COST
        # Through the hub's proxy too: the same paths under the service's prefix.
        with Client(api_key="tok-bob-0123456789",
                    base_url=gateway.url + "/services/clipdrop-gateway") as bob:
            bob.text_to_image("a fox in the snow")
        seats = {s.label: s for s in gateway.gateway.ledger.seats()}
    assert (seats["alice"].credits, seats["alice"].spent) == (5, COST)
    assert (seats["bob"].credits, seats["bob"].spent) == (5, COST)
    assert "alice" in caplog.text and "tok-alice" not in caplog.text
    assert b"tok-alice" not in (tmp_path / "room.db").read_bytes()


def test_outside_the_group_or_roster_is_refused_naming_it(fake_hub, tmp_path, monkeypatch):
    with _gateway(tmp_path, HubPolicy(group="workshop")) as gateway, \
            Client(api_key="tok-carol-0123456789", base_url=gateway.url) as carol, \
            pytest.raises(ClipdropError, match="not in the hub group 'workshop'") as caught:
        carol.text_to_image("a red kite")
    assert "carol" in str(caught.value) and caught.value.status_code == 403
    roster = tmp_path / "roster.txt"
    roster.write_text("# this week\nalice 30\nbob\n")
    policy = HubPolicy(credits=7, roster=read_roster(roster, credits=7))
    (tmp_path / "roster").mkdir()
    with _gateway(tmp_path / "roster", policy) as gw:
        with Client(api_key="tok-carol-0123456789", base_url=gw.url) as carol, \
                pytest.raises(ClipdropError, match="not on this workshop's roster"):
            carol.text_to_image("a red kite")
        for token in ("tok-alice-0123456789", "tok-bob-0123456789"):
            with Client(api_key=token, base_url=gw.url) as client:
                client.text_to_image("a lighthouse")
        credits = {s.label: s.credits for s in gw.gateway.ledger.seats()}
    assert credits == {"alice": 30, "bob": 7}


def test_a_token_the_hub_revoked_is_refused_at_once(fake_hub, tmp_path):
    with _gateway(tmp_path, HubPolicy()) as gateway, \
            Client(api_key="tok-alice-0123456789", base_url=gateway.url) as client:
        client.text_to_image("a lighthouse")
        del fake_hub.tokens["tok-alice-0123456789"]  # her server stopped: the hub forgot it
        with pytest.raises(ClipdropError, match="server may have stopped") as caught:
            client.text_to_image("a second lighthouse")
        assert caught.value.status_code == 403
        assert client.key_state == "rejected"


def test_a_seat_key_seat_is_never_handed_to_a_hub_user_of_its_name(fake_hub, tmp_path):
    with Ledger(tmp_path / "room.db") as ledger:  # a seat-key seat labelled exactly "bob"
        ledger.create_seats(1, 3, label="x")
        with ledger._write() as db:
            db.execute("UPDATE seats SET label = 'bob' WHERE label = 'x-01'")
    with _gateway(tmp_path, HubPolicy()) as gateway, \
            Client(api_key="tok-bob-0123456789", base_url=gateway.url) as bob, \
            pytest.raises(ClipdropError, match="seat-key seat is already called bob"):
        bob.text_to_image("a fox")


def test_the_studio_key_box_shows_the_seat_and_keeps_the_token_out_of_state(
        fake_hub, tmp_path, monkeypatch):
    from ipywidgets import Widget

    from clipdrop_widgets import Studio

    with _gateway(tmp_path, HubPolicy(credits=12, group="workshop")) as gateway:
        _as_user(monkeypatch, gateway.url, "tok-alice-0123456789", "alice")
        studio = Studio(session_dir=tmp_path / "session")
        assert studio.key_text == "JupyterHub seat: alice, 12 credits left"
        assert studio.key_box.children[0].value == ""  # nothing typed, nothing in the field
        state = json.dumps(Widget.get_manager_state(drop_defaults=False), default=str)
        assert "tok-alice" not in state and "tok-alice" not in repr(studio.client)
        _as_user(monkeypatch, gateway.url, "tok-carol-0123456789", "carol")
        refused = Studio(session_dir=tmp_path / "session2")
        assert refused.key_text.startswith("JupyterHub seat: carol: JupyterHub user carol is "
                                           "not in the hub group 'workshop'")
        studio.close()
        refused.close()


def test_the_hub_token_leaves_the_server_only_for_the_named_gateway(monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    monkeypatch.delenv(HUB_GATEWAY_ENV, raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-alice-0123456789")
    with warnings.catch_warnings():  # "no key: the local engine" (once per process)
        warnings.simplefilter("ignore")
        assert Client().is_local  # no gateway named: offline previews, the token unused
    monkeypatch.setenv(HUB_GATEWAY_ENV, "http://127.0.0.1:9/")
    assert Client().base_url == "http://127.0.0.1:9"
    assert Client(api_key="my-own-key").hub_user is None  # a key of one's own wins
    monkeypatch.setenv("CLIPDROP_API_KEY", "room-key")
    assert Client().hub_user is None
    monkeypatch.delenv("CLIPDROP_API_KEY")
    client = Client()
    assert client.copy(timeout=5).hub_user == client.hub_user
    client.set_api_key("pasted-key")
    assert client.hub_user is None


def test_a_roster_line_that_is_not_name_and_credits_is_refused(tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("alice 30\nbob lots\n")
    with pytest.raises(ConfigurationError, match="line 2"):
        read_roster(roster, credits=5)
    with pytest.raises(ConfigurationError, match="cannot read the roster"):
        read_roster(tmp_path / "missing.txt", credits=5)


def test_a_hub_that_cannot_be_reached_is_a_plain_502_and_no_charge(fake_hub, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:9/hub/api")  # nothing listens
    with _gateway(tmp_path, HubPolicy()) as gateway, \
            Client(api_key="tok-alice-0123456789", base_url=gateway.url,
                   max_retries=0) as client, \
            pytest.raises(ServerError, match="JupyterHub could not be reached") as caught:
        client.text_to_image("a lighthouse")
    text = str(caught.value)
    assert caught.value.status_code == 502 and "nothing was sent to the service or charged" in text
    assert "hub_ip" not in text and "Is the Hub accessible" not in text  # the admin's advice
    with Ledger(tmp_path / "room.db") as ledger:
        assert ledger.seats() == [] and ledger.total_charged() == 0


def test_a_stalled_hub_is_a_quick_502_in_the_gateways_words(fake_hub, tmp_path, monkeypatch):
    from clipdrop_widgets import Studio

    fake_hub.delay = 6.0  # the hub is up but does not answer (a hub pod restarting)
    with _gateway(tmp_path, HubPolicy(timeout=1.0)) as gateway:
        started = time.monotonic()
        with Client(api_key="tok-alice-0123456789", base_url=gateway.url,
                    max_retries=0) as client, pytest.raises(ServerError) as caught:
            client.text_to_image("a lighthouse")
        assert time.monotonic() - started < 4  # not the hub's minutes
        text = str(caught.value)
        assert caught.value.status_code == 502 and "did not answer within 1 s" in text
        assert "nothing was sent to the service or charged" in text and "may have" not in text
        # The Studio's key box blames the hub, not the gateway (which answered).
        _as_user(monkeypatch, gateway.url, "tok-alice-0123456789", "alice")
        studio = Studio(session_dir=tmp_path / "session")
        assert "JupyterHub did not answer" in studio.key_text
        assert "could not be reached" not in studio.key_text
        studio.close()
    with Ledger(tmp_path / "room.db") as ledger:
        assert ledger.total_charged() == 0


def test_a_call_whose_sender_left_while_the_hub_was_slow_is_never_charged(fake_hub, tmp_path,
                                                                           caplog):
    caplog.set_level(logging.INFO, logger="clipdrop_widgets.gateway")
    fake_hub.delay = 1.0  # the hub answers 1 s in; the sender has left at 0.3 s
    body = (b"--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n"
            b"a kite nobody waits for\r\n--b--\r\n")
    with _gateway(tmp_path, HubPolicy()) as gateway:
        with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
            sock.sendall(b"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\n"
                         b"x-api-key: tok-bob-0123456789\r\n"
                         b"Content-Type: multipart/form-data; boundary=b\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            time.sleep(0.3)  # the student's client gives up while the hub is still checking
        time.sleep(2.0)  # the hub answers; the gateway must not go upstream for nobody
        seats = {s.label: s for s in gateway.gateway.ledger.seats()}
    assert seats["bob"].spent + seats["bob"].reserved == 0 and seats["bob"].requests == 0
    assert "withdrawn" in caplog.text


def test_the_seat_is_named_by_the_gateway_not_by_jupyterhub_user(fake_hub, tmp_path,
                                                                   monkeypatch):
    from clipdrop_widgets import Studio

    with _gateway(tmp_path, HubPolicy(credits=9)) as gateway:
        _as_user(monkeypatch, gateway.url, "tok-alice-0123456789", "bob")  # alice's token
        studio = Studio(session_dir=tmp_path / "session")
        assert studio.key_text == "JupyterHub seat: alice, 9 credits left"
        assert studio.client.hub_user == "alice"
        studio.close()


def test_clipdrop_api_url_in_the_environment_wins_over_the_hub_gateway(monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.setenv(HUB_GATEWAY_ENV, "http://127.0.0.1:9/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-alice-0123456789")
    monkeypatch.setenv("CLIPDROP_API_URL", "http://127.0.0.1:7/")
    client = Client()
    assert client.base_url == "http://127.0.0.1:7" and client.hub_user is None
    assert client.key_state == "none"  # the hub token is not sent to that address
    monkeypatch.setenv("CLIPDROP_API_URL", "")  # set but empty: as if unset
    assert Client().hub_user is not None


def test_hub_names_reach_the_teachers_terminal_escaped_and_marked(fake_hub, tmp_path, caplog,
                                                                    monkeypatch):
    caplog.set_level(logging.INFO, logger="clipdrop_widgets.gateway")
    odd = {"tok-esc-0123456789": "x\x1b[31mred", "tok-rlo-0123456789": "\u202eevil",
           "tok-tab-0123456789": "tab\t0 spent\t20 left"}  # names some authenticators allow
    fake_hub.tokens.update(odd)
    for name in odd.values():
        fake_hub.groups[name] = ["workshop"]
    with _gateway(tmp_path, HubPolicy(group="workshop")) as gateway:
        with Client(api_key="tok-carol-0123456789", base_url=gateway.url) as carol, \
                pytest.raises(ClipdropError):
            carol.text_to_image("a red kite")
        for token in odd:
            with Client(api_key=token, base_url=gateway.url) as client:
                client.text_to_image("a kite")
        with Client(api_key="tok-alice-0123456789", base_url=gateway.url) as alice:
            alice.text_to_image("a kite")
        with Ledger(tmp_path / "room.db") as ledger:
            ledger.create_seats(1, 5, label="seat")
    assert "carol (refused)" in caplog.text  # the teacher sees who was refused
    logged = caplog.text
    assert "\x1b" not in logged and "\u202e" not in logged and "\t0 spent" not in logged
    listed = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "gateway", "seats", "list",
                             "--db", str(tmp_path / "room.db")], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert len(listed) == 5
    for line in listed:
        assert line.isprintable() or set(line) - set(line.replace("\t", "")) == {"\t"}
        assert "\x1b" not in line and "\u202e" not in line
    rows = {line.split("\t")[0]: line.split("\t") for line in listed}
    assert set(rows) == {"x\\x1b[31mred", "\\u202eevil", "tab\\x090 spent\\x0920 left",
                         "alice", "seat-01"}
    assert all(len(row) == 6 and row[-1] == "hub user" for name, row in rows.items()
               if name != "seat-01")
    assert len(rows["seat-01"]) == 5  # a seat-key seat is not marked


def test_hub_seats_end_with_the_room_like_any_late_seat(fake_hub, tmp_path):
    with Ledger(tmp_path / "room.db") as ledger:  # the room's seat keys stop in two hours
        ledger.create_seats(2, 5, label="guest", expires_in=7200)
        room_ends = ledger.seats()[0].expires
    with _gateway(tmp_path, HubPolicy()) as gateway, \
            Client(api_key="tok-alice-0123456789", base_url=gateway.url) as alice:
        alice.text_to_image("a kite")
        seat = {s.label: s for s in gateway.gateway.ledger.seats()}["alice"]
    assert seat.expires == room_ends
    assert "expired" in (seat.refusal(now=room_ends + 1) or "")
    (tmp_path / "no-expiry").mkdir()  # a room whose seats never end: nor do hub seats
    with _gateway(tmp_path / "no-expiry", HubPolicy()) as gateway, \
            Client(api_key="tok-bob-0123456789", base_url=gateway.url) as bob:
        bob.text_to_image("a fox")
        assert gateway.gateway.ledger.seats()[0].expires is None


def test_hub_admins_get_the_admin_page_the_admin_token_still_works(fake_hub, tmp_path):
    import requests

    prefixed = "/services/clipdrop-gateway/gateway/admin"
    with _gateway(tmp_path, HubPolicy()) as gateway:
        for token in ("tok-alice-0123456789", "tok-bob-0123456789"):
            with Client(api_key=token, base_url=gateway.url) as client:
                client.text_to_image(f"a lighthouse for {token.split('-')[1]}")  # not cached
        url = gateway.url + prefixed

        def get(path: str = "", **headers: str) -> requests.Response:
            return requests.get(url + path, headers=headers, timeout=10, allow_redirects=False)

        # alice is a hub admin (the stand-in hub says so); her token has access to the service.
        answer = get("/stats.json", Authorization="token tok-alice-0123456789")
        assert answer.status_code == 200
        seats = {s["label"]: s for s in answer.json()["seats"]}
        assert set(seats) == {"alice", "bob"}
        assert all(s["hub_user"] and s["credits_spent"] == COST for s in seats.values())
        assert get(Authorization="token tok-alice-0123456789").status_code == 200
        # bob is not an admin: refused by name, nothing of the room shown.
        answer = get("/stats.json", Authorization="token tok-bob-0123456789")
        assert answer.status_code == 403
        assert "bob is not an admin of this JupyterHub" in answer.json()["error"]
        assert "alice" not in answer.text
        # A token without access to the service does not get in, even an admin's.
        fake_hub.tokens["tok-alice-visit-0123456789"] = "alice"
        fake_hub.scopes["tok-alice-visit-0123456789"] = ["read:users:name!user=alice"]
        answer = get("/stats.json", Authorization="token tok-alice-visit-0123456789")
        assert answer.status_code == 403 and "may not use the workshop gateway" in answer.text
        # A token the hub revoked is out within a second (the login's cache).
        del fake_hub.tokens["tok-alice-0123456789"]
        time.sleep(ADMIN_LOGIN_CACHE + 0.2)
        assert get("/stats.json", Authorization="token tok-alice-0123456789").status_code == 401
        # No login yet: the page goes to the hub's login (OAuth), its data answers 401.
        answer = get()
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/hub/api/oauth2/authorize?")  # the hub's
        assert "client_id=service-clipdrop-gateway" in answer.headers["Location"]
        assert get("/stats.json").status_code == 401
        # Outside the hub's path the hub's cookie never comes: say where to go.
        answer = requests.get(gateway.url + "/gateway/admin", timeout=10)
        assert answer.status_code == 401 and prefixed + " on the hub" in answer.json()["error"]
        # The admin token, as without a hub.
        token = gateway.admin_url.partition("?")[2]
        assert get("/stats.json?" + token).status_code == 200
        assert requests.get(gateway.admin_url, timeout=10).status_code == 200


def test_without_an_oauth_client_id_the_page_says_what_is_missing(fake_hub, tmp_path,
                                                                   monkeypatch):
    import requests

    monkeypatch.delenv("JUPYTERHUB_CLIENT_ID")  # an external service given too little
    with _gateway(tmp_path, HubPolicy()) as gateway:
        answer = requests.get(gateway.url + "/services/clipdrop-gateway/gateway/admin",
                              timeout=10, allow_redirects=False)
        assert answer.status_code == 503 and "$JUPYTERHUB_CLIENT_ID" in answer.json()["error"]
        assert requests.get(gateway.admin_url, timeout=10).status_code == 200


@pytest.mark.parametrize("scopes", [
    [], ["read:users:name!user=alice", "read:users:groups!user=alice"],
    ["access:services!service=another-service"]])
def test_a_token_without_access_to_the_gateway_spends_nothing(fake_hub, tmp_path, scopes):
    fake_hub.tokens["tok-alice-visit-0123456789"] = "alice"  # what another service received
    fake_hub.scopes["tok-alice-visit-0123456789"] = scopes
    with _gateway(tmp_path, HubPolicy()) as gateway:
        with Client(api_key="tok-alice-visit-0123456789", base_url=gateway.url,
                    max_retries=0) as visitor, pytest.raises(ClipdropError) as caught:
            visitor.text_to_image("a picture on alice's account")
        assert caught.value.status_code == 403
        assert "access:services!service=clipdrop-gateway" in str(caught.value)
        with Client(api_key="tok-alice-0123456789", base_url=gateway.url) as alice:
            alice.text_to_image("her own picture")  # her server's token still works
        seats = {s.label: s for s in gateway.gateway.ledger.seats()}
    assert seats["alice"].requests == 1 and seats["alice"].spent == COST


def test_any_token_may_pay_when_the_teacher_says_so(fake_hub, tmp_path, monkeypatch):
    fake_hub.scopes["tok-alice-0123456789"] = ["read:users:name!user=alice"]
    with _gateway(tmp_path, HubPolicy(service_access=False)) as gateway, \
            Client(api_key="tok-alice-0123456789", base_url=gateway.url) as alice:
        alice.text_to_image("a kite")
    monkeypatch.delenv("JUPYTERHUB_SERVICE_NAME")  # nothing says which service to require
    with pytest.raises(ConfigurationError, match="JUPYTERHUB_SERVICE_NAME"):
        _gateway(tmp_path, HubPolicy())


# -- issue 25, second round of attacks ---------------------------------------------------------
def _seat_calls(url: str, tokens: list[str]) -> list[tuple[int, float]]:
    """Each token's ``GET /gateway/v1/seat``, all sent at once: (status, seconds) per token."""
    from tornado.httpclient import AsyncHTTPClient

    async def run() -> list[tuple[int, float]]:
        client = AsyncHTTPClient(force_instance=True, max_clients=len(tokens))

        async def one(token: str) -> tuple[int, float]:
            started = time.monotonic()
            answer = await client.fetch(url + "/gateway/v1/seat", raise_error=False,
                                        headers={"x-api-key": token}, request_timeout=30)
            return answer.code, time.monotonic() - started

        try:
            return list(await asyncio.gather(*(one(token) for token in tokens)))
        finally:
            client.close()

    return asyncio.run(run())


def test_a_class_starting_at_once_gets_its_group_seats_without_false_502s(fake_hub, tmp_path):
    # 150 students run their first cell together while the hub answers each request in
    # 0.5 s: the group lookups went 10 at a time and the queue counted against the 5 s.
    students = {f"tok-s{i:03d}-0123456789": f"s{i:03d}" for i in range(150)}
    fake_hub.tokens.update(students)
    fake_hub.groups.update({name: ["workshop"] for name in students.values()})
    fake_hub.delay = fake_hub.users_delay = 0.5
    with _gateway(tmp_path, HubPolicy(group="workshop", credits=4)) as gateway:
        answers = _seat_calls(gateway.url, list(students))
        # One user's first calls at once share one read of their groups.
        fake_hub.user_reads.clear()
        bob = _seat_calls(gateway.url, ["tok-bob-0123456789"] * 20)
    assert sorted({status for status, _ in answers}) == [200]
    assert max(seconds for _, seconds in answers) < 5  # never the --hub-timeout
    assert {status for status, _ in bob} == {200} and fake_hub.user_reads == ["bob"]


def test_a_roster_with_infinite_credits_a_bom_mixed_case_or_a_name_twice(tmp_path):
    roster = tmp_path / "roster.txt"
    for line in ("infy inf", "big 1e309", "odd nan", "minus -1"):
        roster.write_text(f"alice 3\n{line}\n")
        with pytest.raises(ConfigurationError, match=r"line 2.*finite number >= 0"):
            read_roster(roster, credits=5)
    with pytest.raises(ConfigurationError, match="finite"):
        HubPolicy(roster={"alice": float("inf")})
    roster.write_bytes(b"\xef\xbb\xbfAlice 30\r\nbob\r\n")  # Excel's "CSV UTF-8", a class list
    assert read_roster(roster, credits=5) == {"alice": 30, "bob": 5}
    with Ledger(tmp_path / "room.db") as ledger:  # the file alone is the roster, not "everyone"
        seats = HubSeats(ledger, HubPolicy(credits=5, roster_file=str(roster)), auth=None)
        assert seats.roster == {"alice": 30, "bob": 5}
    roster.write_text("alice 5\nbob\nALICE 50\n")
    with pytest.raises(ConfigurationError, match="'ALICE' is listed twice, on lines 1 and 3"):
        read_roster(roster, credits=5)


def test_a_hub_user_name_over_255_bytes_gets_no_seat_and_is_told_the_rule(fake_hub, tmp_path):
    """Hub user names were not length-checked where they become a seat's label and ledger
    identity: a 256-byte name (128 characters of two bytes each) is refused naming the rule,
    a 255-byte one still gets its seat; a roster cannot list one either."""
    longest, over = "a" * 255, "\u00e9" * 128
    fake_hub.tokens.update({"tok-longest-0123456789": longest, "tok-over-0123456789": over})
    with _gateway(tmp_path, HubPolicy(credits=5)) as gateway:
        refused, seated = (requests.get(f"{gateway.url}/gateway/v1/seat", timeout=10,
                                        headers={"x-api-key": token})
                           for token in ("tok-over-0123456789", "tok-longest-0123456789"))
    assert refused.status_code == 403 and seated.status_code == 200
    said = refused.json()["error"]
    assert "at most 255 bytes" in said and "is 256 bytes" in said and over not in said
    with Ledger(tmp_path / "room.db") as ledger:
        assert [seat.label for seat in ledger.seats()] == [longest]
    roster = tmp_path / "roster.txt"
    roster.write_text(f"alice 3\n{over} 4\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"line 2: .*at most 255 bytes"):
        read_roster(roster, credits=5)


def test_the_roster_is_read_again_when_the_teacher_adds_a_latecomer(fake_hub, tmp_path,
                                                                     caplog):
    fake_hub.tokens["tok-Late-0123456789"] = "latecomer"
    roster = tmp_path / "roster.txt"
    roster.write_bytes(b"\xef\xbb\xbfAlice 30\n")
    policy = HubPolicy(credits=7, roster=read_roster(roster, credits=7), roster_file=str(roster))
    (tmp_path / "db").mkdir()
    with _gateway(tmp_path / "db", policy) as gateway:
        seat = _seat_calls(gateway.url, ["tok-alice-0123456789"])
        with Client(api_key="tok-Late-0123456789", base_url=gateway.url) as late, \
                pytest.raises(ClipdropError, match="not on this workshop's roster"):
            late.text_to_image("a kite")
        roster.write_text("alice 30\nlatecomer 9\n")
        os_time = time.time() + 5  # a save a moment later (mtime granularity)
        os.utime(roster, (os_time, os_time))
        assert _seat_calls(gateway.url, ["tok-Late-0123456789"])[0][0] == 200
        roster.write_text("alice 30\nlatecomer 9\ncarol inf\n")  # an edit that does not read
        os.utime(roster, (os_time + 5, os_time + 5))
        assert _seat_calls(gateway.url, ["tok-carol-0123456789"])[0][0] == 403
        said = requests.get(gateway.url + "/gateway/v1/seat", timeout=30,
                            headers={"x-api-key": "tok-carol-0123456789"}).json()["error"]
        # carol hears what the log says (att23 #10), not the file's lines
        assert "roster file was changed but cannot be read" in said and "inf" not in said
        credits = {s.label: s.credits for s in gateway.gateway.ledger.seats()}
    assert seat[0][0] == 200 and credits == {"alice": 30, "latecomer": 9}
    assert "cannot be used, the previous one stays" in caplog.text


def test_a_revoked_hub_user_is_restored_not_reissued_a_key(fake_hub, tmp_path):
    with _gateway(tmp_path, HubPolicy(group="workshop")) as gateway:
        assert _seat_calls(gateway.url, ["tok-bob-0123456789"])[0][0] == 200
        db = str(tmp_path / "room.db")

        def seats(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "clipdrop_widgets", "gateway", "seats",
                                   *args, "--db", db], capture_output=True, text=True,
                                  timeout=60)

        assert seats("revoke", "bob").returncode == 0
        assert _seat_calls(gateway.url, ["tok-bob-0123456789"])[0][0] == 403
        reissued = seats("reissue", "bob")
        assert reissued.returncode == 1 and reissued.stdout == ""  # no key printed
        assert "bob is a JupyterHub user's seat: it has no key" in reissued.stderr
        assert "seats restore bob" in reissued.stderr
        restored = seats("restore", "bob")
        assert restored.returncode == 0 and "hub user" in restored.stdout
        assert "token works again" in restored.stderr
        assert _seat_calls(gateway.url, ["tok-bob-0123456789"])[0][0] == 200
        assert "already" not in seats("restore", "bob").stderr  # says: bob is not revoked
        ledger = gateway.gateway.ledger
        assert [s.label for s in ledger.seats() if s.id in hub_seat_ids(ledger)] == ["bob"]


@pytest.mark.parametrize("answer", [b"not json{", b'{"kind": "user"}',
                                    b" " * (2 << 20) + b'{"kind": "user", "name": "alice"}'],
                         ids=["not-json", "no-name", "over-1MB"])
def test_an_unreadable_hub_answer_is_a_502_naming_the_hub(fake_hub, tmp_path, answer):
    fake_hub.answer = answer  # $JUPYTERHUB_API_URL pointing at something else than the hub
    with _gateway(tmp_path, HubPolicy()) as gateway:
        with Client(api_key="tok-alice-0123456789", base_url=gateway.url,
                    max_retries=0) as client, pytest.raises(ServerError) as caught:
            client.text_to_image("a lighthouse")
        admin = requests.get(gateway.url + "/gateway/admin/stats.json", timeout=30,
                             headers={"Authorization": "token tok-alice-0123456789"})
    assert admin.status_code == 502 and "could not check your login" in admin.json()["error"]
    text = str(caught.value)
    assert caught.value.status_code == 502 and f"JupyterHub at {fake_hub.url}" in text
    assert "nothing was sent to the service or charged" in text
    with Ledger(tmp_path / "room.db") as ledger:
        assert ledger.seats() == []
