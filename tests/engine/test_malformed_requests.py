"""Every malformed request gets the contract's JSON error, wherever the engine can answer.

tornado answers a request it cannot parse (request line, header, chunk) with a bare
``400 Bad Request`` and no body, and closes on headers past its limit: a client then reads
"no JSON" or a reset. Each kind here is sent on a raw socket, as an attacker or a broken
client would.
"""

from __future__ import annotations

import json
import socket

import pytest

from clipdrop_widgets.engine import ServerHandle

TIMEOUT = 10
POST = b"POST /cleanup/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
FORM = b"Content-Type: multipart/form-data; boundary=xx\r\n"

MALFORMED = {
    "bad request line": b"GARBAGE\r\n\r\n",
    "unknown HTTP version": b"POST /cleanup/v1 HTTP/9.9\r\nHost: x\r\n\r\n",
    "bad method characters": b"P(ST /cleanup/v1 HTTP/1.1\r\nHost: x\r\n\r\n",
    "header without a colon": POST + b"NoColonHeader\r\nContent-Length: 0\r\n\r\n",
    "folded header": POST + b"X-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    "space before the colon": POST + b"Content-Length : 0\r\n\r\n",
    "bad Content-Length": POST + b"Content-Length: abc\r\n\r\n",
    "negative Content-Length": POST + b"Content-Length: -5\r\n\r\n",
    "two Content-Lengths": POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    "missing boundary": POST + b"Content-Type: multipart/form-data\r\n"
                        b"Content-Length: 5\r\n\r\nhello",
    "wrong content type": POST + b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    "bad multipart": POST + FORM + b"Content-Length: 5\r\n\r\nhello",
    "bad chunk size": POST + FORM + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "huge chunk size": POST + FORM + b"Transfer-Encoding: chunked\r\n\r\n"
                       b"FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n",
    "unterminated chunk": POST + FORM + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "both Content-Length and chunked": POST + b"Content-Length: 5\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\nhello",
    "unknown Transfer-Encoding": POST + b"Transfer-Encoding: gzip\r\n\r\nhello",
    "malformed address": b"POST http://[::1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
}
#: The kinds tornado answered itself, with a bare 400, before this was fixed.
TORNADO_ANSWERED = {"bad request line", "unknown HTTP version", "bad method characters",
                    "header without a colon", "folded header", "space before the colon",
                    "bad chunk size", "huge chunk size", "unterminated chunk"}


def exchange(handle: ServerHandle, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` and read one answer (to its Content-Length, or until the server
    closes): the status, headers and body."""
    with socket.create_connection((handle.host, handle.port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        raw = b""
        while True:
            head, found, body = raw.partition(b"\r\n\r\n")
            if found:
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip()
                           for k, _, v in (ln.partition(":") for ln in lines[1:])}
                if len(body) >= int(headers.get("content-length", "-1")) >= 0:
                    return int(lines[0].split()[1]), headers, body
            chunk = sock.recv(65536)
            assert chunk or raw, "the server closed the connection without an answer"
            assert chunk, f"the answer broke off: {raw[:200]!r}"
            raw += chunk


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_request_gets_a_json_400(served_engine, kind):
    status, headers, body = exchange(served_engine, MALFORMED[kind])
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    message = json.loads(body)["error"]
    assert isinstance(message, str) and message


def test_the_list_covers_what_tornado_answered_itself():
    assert set(MALFORMED) >= TORNADO_ANSWERED and len(TORNADO_ANSWERED) >= 8


def test_70_kb_of_headers_get_a_json_431_not_a_closed_connection(served_engine):
    request = POST + b"X-Big: " + b"a" * 70_000 + b"\r\nContent-Length: 0\r\n\r\n"
    status, headers, body = exchange(served_engine, request)
    assert status == 431
    assert headers["content-type"] == "application/json"
    assert "65536" in json.loads(body)["error"]


def test_the_server_still_answers_after_all_of_them(served_engine):
    import numpy as np

    from clipdrop_widgets import Client

    for data in MALFORMED.values():
        exchange(served_engine, data)
    client = Client("k", base_url=served_engine.url, timeout=30)
    assert client.cleanup(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), bool)).width == 8
