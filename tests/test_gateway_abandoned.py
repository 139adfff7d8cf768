"""A call whose sender left while it waited in the gateway's queue (the room's pace) must not
be sent upstream or charged: the general case of the hub-wait check (`gateway.hub.caller_left`,
which the POST handler runs once, before the core). Here the wait is the core's fair-share
lane: a sender who leaves there withdraws the call. See docs/jupyterhub.md.
"""

from __future__ import annotations

import socket
import time

from clipdrop_widgets import Client, Ledger, serve_gateway
from clipdrop_widgets.contract.endpoints import ENDPOINTS

COST = float(ENDPOINTS["text_to_image"].credits)


def _post(port: int, key: str, prompt: str) -> socket.socket:
    body = (b"--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n"
            + prompt.encode() + b"\r\n--b--\r\n")
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: " + key.encode()
                 + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def test_a_call_abandoned_in_the_rooms_queue_is_not_charged(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    with Ledger(tmp_path / "room.db") as ledger:
        [(_label, key)] = ledger.create_seats(1, 20, label="seat")
    # 15 a minute: the second call waits ~4 s for its slot (it waited 10 s at 6 a minute; the
    # sender leaves 0.5 s in, well before the slot, and the check comes 1 s after the slot).
    with serve_gateway(tmp_path / "room.db", port=0, requests_per_minute=15,
                       shared_cache=False, background=True) as gateway:
        with Client(api_key=key, base_url=gateway.url) as client:
            client.text_to_image("the first call takes the slot")
        sock = _post(gateway.port, key, "the second call waits, and its sender leaves")
        time.sleep(0.5)
        sock.close()
        time.sleep(4.5)  # past the second slot
        seat = gateway.gateway.ledger.seats()[0]
    assert (seat.requests, seat.spent + seat.reserved) == (1, COST)
