"""Request handlers that do not need aiohttp's request and response objects: a *call* is what an evaluation or
snapshot handler reads (headers, the `/environments/{env}` prefix, the `{name}` parts of the path, the body bytes)
and an *answer* is what it writes (status, JSON body, ETag). The same handler serves two ways:

- as an ordinary aiohttp route (`add_call_route`), which reads the body and turns the answer into a `web.Response`;
- from the hot lane (`hotlane.py`), which answers a complete request straight from aiohttp's parsed message.

A handler never raises: every error is answered in its API's shape (`failure`), so both ways answer alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from evaluator.engine import EvaluationError
from evaluator.server.environments import URL_ENV
from evaluator.server.errors import ApiError, Code, error_body, from_engine
from evaluator.server.parsing import read_body

log = logging.getLogger("flagdeck.evaluator")


@dataclass(slots=True)
class Call:
    headers: Mapping[str, str]
    url_env: str | None  # the `/environments/{env}` prefix of the path, if any
    body: bytes
    params: Mapping[str, str]  # the `{name}` parts of the route's path (`key`, `namespace`, `environment`)
    method: str = "POST"
    path: str = ""  # for the log of an unexpected error


Answer = tuple[int, bytes, str | None]  # status, JSON body (empty for 304), ETag


class Pending(Exception):  # noqa: N818 - not an error: an answer not ready yet
    """Raised by a handler whose answer needs what is still being built (a namespace prepared after start-up,
    prepared.py), or is long to compute. The hot lane leaves such a request to the ordinary path (its body put
    back), which runs `wait` in a thread (the event loop serving others meanwhile), then calls the handler again;
    or, given `answer` instead, awaits it: an answer computed on the loop in slices (the OFREP bulk call of
    thousands of flags), others served between them."""

    def __init__(self, wait: Callable[[], object] = lambda: None,
                 answer: Callable[[], Awaitable[Answer]] | None = None):
        super().__init__("the answer is being prepared")
        self.wait, self.answer = wait, answer
CallHandler = Callable[[Call], Answer]
Renderer = Callable[[ApiError, str | None], bytes]  # error -> body, given the call's key


def render_json(err: ApiError, key: str | None) -> bytes:
    """Flipt's grpc-gateway error shape."""
    return error_body(err.code, err.message)


def failure(exc: Exception, call: Call, on_bug: Callable[[], None], render: Renderer = render_json) -> Answer:
    """The answer to an exception raised while handling `call`; a bug is logged, counted by `on_bug` and answered
    500 in the API's shape, never a crash or an HTML page."""
    if isinstance(exc, ConnectionResetError):
        raise exc
    if isinstance(exc, ApiError):
        err = exc
    elif isinstance(exc, EvaluationError):
        err = from_engine(exc)
    elif isinstance(exc, web.HTTPException):  # raised by aiohttp itself while reading the request
        code = Code.INVALID_ARGUMENT if 400 <= exc.status < 500 else Code.INTERNAL
        err = ApiError(code, exc.reason, status=exc.status)
    else:
        log.exception("unexpected error on %s %s", call.method, call.path, exc_info=exc)
        on_bug()
        err = ApiError(Code.INTERNAL, "internal error")
    return err.status, render(err, call.params.get("key")), None


def call_route(handler: CallHandler, max_body: int, headers: Mapping[str, str], common: Mapping[str, str],
               render: Renderer = render_json, on_bug: Callable[[], None] = lambda: None,
               ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`handler` as an aiohttp route: `headers` go on every JSON answer, `common` (CORS) on a 304 too."""

    async def route(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        call = Call(request.headers, info.get(URL_ENV), b"", info, request.method, request.path)
        try:
            call.body = await read_body(request, max_body)
        except Exception as exc:
            status, body, etag = failure(exc, call, on_bug, render)
        else:
            while True:
                try:
                    status, body, etag = handler(call)
                    break
                except Pending as pending:
                    if pending.answer is not None:
                        status, body, etag = await pending.answer()
                        break
                    await asyncio.to_thread(pending.wait)
        if status == 304:
            response = web.Response(status=304, headers=common)
        else:
            response = web.Response(body=body, status=status, headers=headers)
        if etag is not None:
            response.headers["ETag"] = etag
        return response

    return route
