"""The gateway's reads of the JupyterHub's REST API: who owns a token, a user's groups and admin.

One tornado client of the gateway's own (never the process-wide ``AsyncHTTPClient()``, which
queues at 10 requests in flight and counts the queue's wait against each request's timeout: a
class's first calls at once would get false "the hub did not answer" 502s), with room for
`MAX_IN_FLIGHT` requests at once, so a request's timeout runs while the hub has it. An answer
is read up to `MAX_ANSWER` bytes: a hub API URL pointing at something else (a file server, an
error stream) costs a 502 naming the hub, never the gateway's memory. Anything but a JSON
object from the hub is a 502 naming the hub too (`HubUnreadable`).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

__all__ = ["HubAnswer", "HubUnreadable", "HubTimeout", "HubUnreachable", "get_json",
           "MAX_ANSWER", "MAX_IN_FLIGHT"]

#: Bytes of one hub answer the gateway reads at most (a user model is a few kB).
MAX_ANSWER = 1 << 20
#: Requests to the hub in flight at once (a hub's API answers far more; the gateway only asks
#: once per user's first call and per token check).
MAX_IN_FLIGHT = 1000


#: Seconds one request of the admin page's login may take (its caller waits less: the
#: ``--hub-timeout``).
LOGIN_TIMEOUT = 30.0


class HubTimeout(Exception):
    """The hub did not answer in time."""


class HubUnreachable(Exception):
    """No connection to the hub."""


class HubUnreadable(Exception):
    """The hub answered something that is not a JSON object (or too much of it)."""


class HubAnswer(dict):  # type: ignore[type-arg]
    """A JSON object the hub answered, with its HTTP ``status``."""

    status: int = 200


#: The client of each running event loop (a tornado client belongs to the loop it was made in).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def _http() -> Any:
    from tornado.httpclient import AsyncHTTPClient

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = AsyncHTTPClient(
            force_instance=True, max_clients=MAX_IN_FLIGHT, max_body_size=MAX_ANSWER,
            max_buffer_size=MAX_ANSWER)
    return client


def _no_answer(error: BaseException | None, heard: list[str]) -> None:
    """Raise why there is no full answer: too slow, no connection, or (its status line came)
    too big or cut short."""
    from tornado.httpclient import HTTPClientError

    if isinstance(error, HTTPClientError) and "imeout" in str(error):
        raise HubTimeout(str(error)) from None
    if heard:  # it answered, then more than MAX_ANSWER bytes (tornado closed) or cut short
        raise HubUnreadable(f"{heard[0].strip()[:80]}, then more than {MAX_ANSWER} bytes or a "
                            f"cut answer ({error})") from None
    if isinstance(error, (OSError, HTTPClientError)):
        raise HubUnreachable(str(error)) from None
    raise HubUnreadable(f"{type(error).__name__}: {error}") from None


def tls_of(auth: Any) -> Any:
    """The TLS context of ``auth`` (a `HubAuth`) for a hub with internal TLS (its
    ``certfile``/``keyfile``, as jupyterhub's own requests use them), else ``None``."""
    if not (getattr(auth, "certfile", None) or getattr(auth, "keyfile", None)):
        return None
    made = _tls.get(id(auth))
    if made is None or made[0] is not auth:  # made once per auth: it reads the files
        from jupyterhub.utils import make_ssl_context

        made = _tls[id(auth)] = (auth, make_ssl_context(auth.keyfile, auth.certfile,
                                                        cafile=auth.client_ca))
    return made[1]


_tls: dict[int, tuple[Any, Any]] = {}


async def get_json(url: str, token: str, timeout: float, tls: Any = None) -> HubAnswer:
    """``GET url`` with ``Authorization: token TOKEN``: the JSON object answered (its
    ``status`` set; 4xx and 5xx too), or `HubTimeout`, `HubUnreachable`, `HubUnreadable`.
    ``tls``: an `ssl.SSLContext` for a hub with internal TLS."""
    heard: list[str] = []  # the answer's header lines: it did answer, whatever came next
    try:
        answer = await _http().fetch(url, headers={"Authorization": f"token {token}"},
                                     connect_timeout=timeout, request_timeout=timeout,
                                     raise_error=False, follow_redirects=False,
                                     header_callback=heard.append, ssl_options=tls)
    except Exception as err:  # tornado raises a 599 (no full answer) even with raise_error=False
        _no_answer(err, heard)
        raise  # pragma: no cover - _no_answer always raises
    if answer.code == 599:  # pragma: no cover - tornado raises these
        _no_answer(answer.error, heard)
    try:
        data = json.loads(answer.body or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if answer.code >= 400:  # an HTML error page: the status says enough
            data = {}
        else:
            raise HubUnreadable(f"a {answer.code} answer that is not a JSON object")
    model = HubAnswer(data)
    model.status = answer.code
    return model


async def api_request(auth: Any, method: str, url: str, /, **kwargs: Any) -> Any:
    """`HubAuth._api_request` for the GETs of the admin page's login (who owns a token or a
    login cookie) through `get_json`: at most `MAX_ANSWER` bytes read, an unreadable answer a
    502 ``HTTPError`` (as a hub that does not answer), and jupyterhub's own answers otherwise
    (``None`` for an allowed 403, its ``HTTPError`` for a failure). Other requests (the OAuth code
    exchange) are jupyterhub's."""
    from jupyterhub.services.auth import HubOAuth
    from tornado.web import HTTPError

    if method != "GET":
        return await HubOAuth._api_request(auth, method, url, **kwargs)
    allow_403 = kwargs.get("allow_403", False)
    token = (kwargs.get("headers") or {}).get("Authorization", "").partition(" ")[2]
    try:
        answer = await get_json(url, token or auth.api_token, LOGIN_TIMEOUT, tls_of(auth))
    except (HubTimeout, HubUnreachable) as err:
        raise HTTPError(502, f"the hub did not answer: {err}") from None
    except HubUnreadable as err:
        raise HTTPError(502, f"the hub's answer is unreadable: {err}") from None
    if answer.status == 403 and allow_403:
        return None
    if answer.status >= 400:
        raise HTTPError(502 if answer.status >= 500 else 500,
                        f"the hub answered {answer.status} checking authorization")
    return dict(answer)
