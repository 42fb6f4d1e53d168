"""Every connection of the evaluator: aiohttp's `RequestHandler` with read timeouts, and malformed requests answered
in Flipt's JSON error shape without a traceback and without logging what they carried.

- `header_timeout`: once the first bytes of a request arrive on an idle connection, its headers must be complete
  within this time, else the client gets a 408 and the connection is closed (a client dribbling a header a byte at
  a time cannot hold a connection). A connection that sends nothing at all is closed after `idle_timeout`
  (aiohttp's keep-alive timer, from the connection's start or its last answer).
- `body_timeout`: once a request's headers are complete, its whole body must arrive within this time, else 408
  and the connection is closed (the handler reading it gets `BodyTimeout`, see parsing.read_body).
- A request aiohttp cannot parse (bad request line or header, a header too long, an unsupported
  `Content-Encoding`) is answered 4xx `{"code", "message", "details"}` with a fixed description: never the header
  line, which may hold a token or a cookie. It is logged at DEBUG only, with the same description.

`HotLaneHandler` (hotlane.py) is this handler with the hot lane on top; `--no-hot-lane` serves with this one.
"""

from __future__ import annotations

import asyncio
import http
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.http_exceptions import (
    BadStatusLine,
    ContentEncodingError,
    ContentLengthError,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
    TransferEncodingError,
)
from aiohttp.web_protocol import RequestHandler

from evaluator.server.errors import Code, error_body
from evaluator.server.parsing import BodyTimeout

log = logging.getLogger("flagdeck.evaluator")

PHRASES = {status.value: status.phrase for status in http.HTTPStatus}
_TOKEN = re.compile(r"[!#$%&*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a client may take and how many connections one process serves (seconds; see the module doc).
    `max_connections`: beyond it a new connection is answered 503 and closed (listener.py); 0 = no cap."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 75.0
    max_connections: int = 10_000


def raw_answer(status: int, fields: str, body: bytes = b"", close: bool = False) -> bytes:
    """A whole HTTP/1.1 answer as aiohttp writes one: status line, `fields` (header lines, each ending in CRLF),
    Content-Length (not on a 304), Connection: close when asked, Date and Server, then the body."""
    length = "" if status == 304 else f"Content-Length: {len(body)}\r\n"
    end = "Connection: close\r\n" if close else ""
    return (f"HTTP/1.1 {status} {PHRASES.get(status, '')}\r\n{fields}{length}{end}"
            f"Date: {rfc822_formatted_time()}\r\nServer: {SERVER_SOFTWARE}\r\n\r\n").encode() + body


def describe(exc: BaseException | None) -> str:
    """What is wrong with a request aiohttp could not parse, in words that never quote it: aiohttp's own messages
    repeat the offending line (`Authorization: Bearer <token>`), so only their fixed part is kept, with the
    header's name when it is a plain token."""
    if isinstance(exc, LineTooLong):
        return "request line or header too long"
    if isinstance(exc, ContentEncodingError):
        return "unsupported Content-Encoding (send the body as is, or gzip or deflate it)"
    if isinstance(exc, TransferEncodingError | ContentLengthError):
        return "malformed body (Content-Length or Transfer-Encoding)"
    if isinstance(exc, InvalidURLError):
        return "malformed request target"
    if isinstance(exc, BadStatusLine):
        return "malformed request line"
    if isinstance(exc, InvalidHeader):
        return "malformed header"
    if isinstance(exc, HttpProcessingError):
        kind, quoted, rest = (exc.message or "malformed request").partition(":\n")
        if not quoted:  # aiohttp's fixed texts ("Too many headers received", "Duplicate 'Host' header found.")
            return kind.rstrip(".")
        # llhttp's description, then the line as bytes: `Invalid header value char:\n\n  b'Name: value'\n  ^`
        line = rest.strip().removeprefix("b'").removeprefix('b"')
        name, colon, _ = line.partition(":")
        return f"{kind} (header {name})" if colon and _TOKEN.fullmatch(name) else kind
    return "malformed request"


class Tally:
    """Open connections of one server, for its connection cap (listener.Gate)."""

    open = 0


class Connection(RequestHandler):
    """aiohttp's connection handler with read timeouts and JSON answers to what it cannot parse. `headers`: the
    header lines every answer carries (CORS), for answers written here; `tally` counts the open connections."""

    def __init__(self, manager: web.Server, limits: Limits, headers: Mapping[str, str], tally: Tally | None = None,
                 **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._tally = tally
        self._counted = False
        self._limits = limits
        self._fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._error_headers = dict(headers)
        self._timer: asyncio.TimerHandle | None = None
        self._body: Any = None  # the payload whose body is still arriving, timed by `_timer`

    def data_received(self, data: bytes) -> None:
        count, in_body = self._request_count, self._body is not None
        RequestHandler.data_received(self, data)
        # the clocks need looking at unless a complete request arrived with nothing timed (HotLaneHandler inlines
        # these lines: its hot path)
        if in_body or self._timer is not None or (
                not self._messages[-1][1].is_eof() if self._request_count != count else data):
            self._clock(count, in_body, data)

    def _clock(self, count: int, in_body: bool, data: bytes) -> None:
        """Start, stop or switch the read timer after `data` was parsed (`count`, `in_body`: before)."""
        if self._request_count != count:  # a request's headers are complete
            self._body = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._messages:
                payload = self._messages[-1][1]
                if not payload.is_eof():
                    self._body = payload
                    self._arm(self._limits.body_timeout, self._body_timed_out)
        elif in_body:
            if self._body.is_eof():
                self._body = None
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
        elif data and self._timer is None and self.transport is not None:
            self._arm(self._limits.header_timeout, self._header_timed_out)  # the first bytes of a request

    def _arm(self, delay: float, callback: Callable[[], None]) -> None:
        self._timer = self._loop.call_at(self._loop.time() + delay, callback)

    def _idle(self) -> bool:
        """The handler task waits for a request, none is queued or being answered."""
        waiter = self._waiter
        return waiter is not None and not waiter.done() and not self._messages and not self._request_in_progress

    def _header_timed_out(self) -> None:
        self._timer = None
        if self.transport is None or self._force_close or self._close:
            return
        if not self._idle():  # busy answering earlier requests: the clock starts again
            self._arm(self._limits.header_timeout, self._header_timed_out)
            return
        self._refuse(408, f"request headers not received within {self._limits.header_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._timer = None
        body, self._body = self._body, None
        if body is None or body.is_eof() or self.transport is None:
            return
        message = f"request body not received within {self._limits.body_timeout:g} s"
        body.set_exception(BodyTimeout(message))
        body.feed_eof()  # nothing more is read for it: aiohttp must not linger on it after the answer
        waiter = self._waiter
        if waiter is not None and not waiter.done():  # held by the hot lane, the task asleep: answer here
            self._refuse(408, message)
        else:
            self.close()  # the task answers (read_body: 408), then closes; nothing more is parsed meanwhile

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with Flipt's error shape and close the connection (nothing else is in progress)."""
        log.debug("closing a connection from %s: %s", self.peername, message)
        body = error_body(Code.INVALID_ARGUMENT, message)
        if self.transport is not None:
            self.transport.write(raw_answer(status, f"{self._fields}Content-Type: application/json\r\n", body,
                                            close=True))
        self.force_close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self._tally is not None:
            self._tally.open += 1
            self._counted = True

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._counted:
            self._tally.open -= 1  # type: ignore[union-attr]
            self._counted = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._body = None
        super().connection_lost(exc)

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse (4xx) or whose handler failed (5xx), in Flipt's error
        shape. A 4xx is logged at DEBUG with a description that never quotes the request; a 5xx is a bug, logged
        with its traceback as aiohttp does."""
        if request.writer.output_size > 0:  # an answer has begun: the connection can only be dropped
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
            code, text = Code.INTERNAL, "internal error" if status == 500 else PHRASES.get(status, "error").lower()
        else:
            text = describe(exc)
            if isinstance(exc, ContentEncodingError):
                status = 415
            log.debug("malformed request from %s: %s", request.remote, text)
            code = Code.INVALID_ARGUMENT
        response = web.Response(status=status, body=error_body(code, text), content_type="application/json",
                                headers=self._error_headers)
        response.force_close()
        return response
