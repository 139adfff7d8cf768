"""The local engine on a loopback HTTP server, served by tornado.

Tornado reads requests on one event-loop thread: keep-alive, chunked bodies and
``Expect: 100-continue`` (answered only once the headers pass, so a refused upload is never
sent). The body streams into a `FormReader` as it arrives, counted against the
endpoint's cap, once it fits the server's byte budget for bodies and while it arrives at the
least upload rate (`intake`); a request takes a work place only once its body is read, so
clients trickling bodies hold no place. The work (decoding, validating, the operation,
encoding) runs on the engine's bounded pool, never on the loop, in order and within its
megapixels (`work`), so one 16 MP cleanup never holds up another's answer. Past the pool's
queue a request gets 503 with ``Retry-After`` (from its headers when the queue is full
already, else once its body is read). Logging is quiet and never includes a header (so never
the API key).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from tornado.ioloop import IOLoop
from tornado.web import Application, stream_request_body

from ..contract.errors import ConfigurationTypeError
from .answers import EngineResponse, json_error
from .core import ENGINE_HEADER, LocalEngine, Ticket
from .forms import FormError, FormReader, body_cap
from .intake import MIN_UPLOAD_RATE, UPLOAD_WINDOW, BodyBudget, UploadWatch
from .web import (
    HEADER_LIMIT,
    ContractHandler,
    LoopServer,
    framing_error,
    header_size,
    repeated_header,
)

__all__ = ["ServerHandle", "serve"]

logger = logging.getLogger(__name__)

#: Headers a request may carry once only: two keys are ambiguous, so neither is used.
SINGLE_HEADERS = ("x-api-key",)


@stream_request_body
class EngineHandler(ContractHandler):
    """Every path and method, answered by the [`LocalEngine`][clipdrop_widgets.LocalEngine] given
    to ``initialize``."""

    def initialize(self, engine: LocalEngine, budget: BodyBudget) -> None:
        self.engine = engine
        self.budget = budget
        self._ticket: Ticket | None = None
        self._reader: FormReader | None = None
        self._refusal: EngineResponse | None = None
        self._submitted = False
        self._gone = False  # the client closed the connection
        self._reserved = 0  # the body budget's token for this request's bytes (see `reserve`)
        self._watch: UploadWatch | None = None
        self._check: object | None = None  # the upload rate check's timer

    def error_headers(self) -> dict[str, str]:
        return {ENGINE_HEADER[0]: ENGINE_HEADER[1]}

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.engine.record(self.request.path, EngineResponse(status_code, {}, b""))
        super().write_error(status_code, **kwargs)

    async def prepare(self) -> None:
        """Everything the headers decide, before a byte of the body is read."""
        headers = self.request.headers
        size = header_size(self.request)
        if size > HEADER_LIMIT:
            answer = json_error(431, f"the request's headers are {size} bytes; the local engine "
                                     f"reads at most {HEADER_LIMIT}", self.error_headers())
            await self.close_with(self.engine.record(self.request.path[:200], answer))
            return
        problem = framing_error(headers) or _unreadable_uri(self.request.uri or "/")
        repeated = repeated_header(headers, SINGLE_HEADERS)
        if problem is None and repeated is not None:
            problem = f"send one {repeated} header, not {len(headers.get_list(repeated))}"
        if problem is not None:  # the body's end is unknown: answer and close
            answer = json_error(400, problem, self.error_headers())
            await self.close_with(self.engine.record(self.request.path, answer))
            return
        admitted = self.engine.admit(self.request.method or "", self.request.uri or "/",
                                     headers, self.content_length)
        if isinstance(admitted, EngineResponse):
            await self._refuse(admitted)
            return
        try:
            self._reader = admitted.form_reader()
        except FormError as err:  # not a form type, or no boundary
            await self._refuse(self.engine.refuse(admitted, 400, str(err)))
            return
        self._ticket = admitted
        await self._reserve(admitted)

    async def _reserve(self, ticket: Ticket) -> None:
        """Wait for room for the body in the budget, then watch its upload rate."""
        need = ticket.length if ticket.length is not None else body_cap(ticket.endpoint)
        reserved = await self.budget.reserve(need) if need else 0
        if self._gone:  # the client left while it waited
            if reserved:
                self.budget.give(reserved)
            return
        if reserved is None:
            self._ticket = self._reader = None
            await self._refuse(self._busy(ticket, "receiving other uploads"))
            return
        self._reserved = reserved
        self._watch = UploadWatch(rate=MIN_UPLOAD_RATE, window=UPLOAD_WINDOW)
        self._check = IOLoop.current().call_later(UPLOAD_WINDOW, self._check_upload)

    def _busy(self, ticket: Ticket, what: str) -> EngineResponse:
        """A 503 with ``Retry-After`` for ``ticket`` (its place given back)."""
        ticket.release()
        seconds = self.engine.pool.retry_after()
        return self.engine.record(ticket.route, json_error(
            503, f"The local engine is busy ({what}); retry in {seconds} s",
            {"Retry-After": str(seconds), **self.error_headers()}))

    def _check_upload(self) -> None:
        """Cut off a body arriving slower than `MIN_UPLOAD_RATE` (a 408, then close)."""
        self._check = None
        if self._reader is None or self._ticket is None or self._watch is None or self._gone:
            return
        if self._watch.too_slow():
            self._reader = None
            self.cut_off(self.engine.refuse(self._ticket, 408, (
                f"the request body arrived at less than {MIN_UPLOAD_RATE} bytes a second over "
                f"{UPLOAD_WINDOW:g} s; the local engine closed the connection")))
            return
        self._check = IOLoop.current().call_later(UPLOAD_WINDOW, self._check_upload)

    async def _refuse(self, answer: EngineResponse) -> None:
        """Answer once a small body is read (keeping the connection), else at once and close."""
        if self.can_drain():
            self._refusal = answer
        else:
            await self.close_with(answer)

    def data_received(self, chunk: bytes) -> Any:
        if self._reader is None or self._ticket is None:
            return None  # a small body read only to keep the connection
        if self._watch is not None:
            self._watch.fed(len(chunk))
        try:
            self._reader.feed(chunk)
        except FormError as err:
            answer = self.engine.refuse(self._ticket, 400, str(err))
            self._reader = None
            return self.close_with(answer, mid_body=True)
        return None

    async def _answer(self) -> None:
        if self.answered_early:  # refused mid-body, in the body's last chunk
            return
        if self._refusal is not None:
            self.send_answer(self._refusal)
            return
        assert self._ticket is not None and self._reader is not None
        try:
            form = self._reader.close()
        except FormError as err:
            self.send_answer(self.engine.refuse(self._ticket, 400, str(err)))
            return
        finally:
            self._reader = None
            self._stop_check()
        # Only now, the body read, does the request take a place (`submit` weighs its
        # megapixels: its images' or its answer's, whichever is larger).
        if not self._ticket.slot.admit():
            self.send_answer(self._busy(self._ticket, f"{self.engine.pool.capacity} requests "
                                                      "in progress or queued"))
            return
        self._submitted = True
        answer = await asyncio.wrap_future(self.engine.submit(self._ticket, form))
        self.send_answer(answer)

    post = get = head = put = delete = patch = options = _answer

    def on_finish(self) -> None:
        self._release()

    def on_connection_close(self) -> None:
        super().on_connection_close()
        self._gone = True
        self._release()

    def _stop_check(self) -> None:
        if self._check is not None:
            IOLoop.current().remove_timeout(self._check)
            self._check = None

    def _release(self) -> None:
        """Free the work slot of a request that never reached the pool (the pool frees the
        others when their work ends, whether or not the client is still there), and its
        bytes of the body budget."""
        self._stop_check()
        if self._ticket is not None and not self._submitted:
            self._ticket.release()
        if self._reserved:
            self.budget.give(self._reserved)
            self._reserved = 0


def _unreadable_uri(uri: str) -> str | None:
    """Why the request's address cannot be read (an unclosed ``[``...), or ``None``."""
    try:
        urlsplit(uri)
    except ValueError:
        return "the request's address is malformed"
    return None


def _log_request(handler: Any) -> None:
    logger.debug("%s %s -> %d", handler.request.method, handler.request.path[:200],
                 handler.get_status())


class ServerHandle:
    """A server running in a background thread; a context manager that closes it.

    Attributes: ``url`` (``http://127.0.0.1:PORT``), ``host``, ``port``, ``engine``.
    """

    def __init__(self, server: LoopServer, engine: LocalEngine):
        self._server = server
        self.engine: LocalEngine = engine
        self.host: str = server.host
        self.port: int = server.port
        self.url = _url(self.host, self.port)

    def __repr__(self) -> str:
        state = "running" if self._server.running else "closed"
        return f"<ServerHandle {self.url} {state}>"

    def close(self) -> None:
        """Stop accepting, end open connections, and join the serving thread (idempotent)."""
        self._server.close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    api_key: str | None = None,
    credits: float = 100,
    rate_limit: bool | int = False,
    workers: int | None = None,
    queue: int | None = None,
    engine: LocalEngine | None = None,
    background: bool = False,
) -> ServerHandle | None:
    """Serve the local engine over HTTP (tornado).

    Args:
        host: the address to bind; loopback by default.
        port: the TCP port (default 8765); 0 picks a free one (see ``ServerHandle.port``).
        api_key: the only key accepted (others get 403); default any non-empty key. Passed
            to the [`LocalEngine`][clipdrop_widgets.LocalEngine] made when ``engine`` is
            ``None``, as are the next four; giving any of them with ``engine`` is an error.
        credits: the engine's starting balance (default 100).
        rate_limit: ``True`` for the documented rates, a positive int for requests per minute per
            endpoint, ``False`` (default) for none.
        workers: operations run at once (default: the machine's cores).
        queue: requests admitted beyond those running (default: twice ``workers``); past
            ``workers + queue`` a request gets 503 with ``Retry-After``.
        engine: an engine to serve instead (tests read its ``log`` and credits).
        background: when true, serve from a daemon thread and return a `ServerHandle`;
            otherwise print where it listens and serve until Ctrl-C, then return ``None``.

    Raises `OSError` when the address cannot be bound (a busy port).
    """
    if engine is None:
        engine = LocalEngine(api_key=api_key, credits=credits, rate_limit=rate_limit,
                             workers=workers, queue=queue)
    elif (api_key is not None or credits != 100 or rate_limit is not False
          or workers is not None or queue is not None):
        raise ConfigurationTypeError(
            "pass api_key, credits, rate_limit, workers and queue to LocalEngine, "
                        "not with engine=")
    app = Application([(r".*", EngineHandler, {"engine": engine, "budget": BodyBudget()})],
                      log_function=_log_request)
    server = LoopServer(app, host=host, port=port, name="clipdrop-local-engine",
                        error_headers={ENGINE_HEADER[0]: ENGINE_HEADER[1]})
    handle = ServerHandle(server, engine)
    if background:
        return handle
    print(f"Local ClipDrop engine listening on {handle.url} "
          "(outputs are offline previews, not ClipDrop results); Ctrl-C stops it.", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.close()
    return None
