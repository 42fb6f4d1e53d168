"""`--access-log`: one line per request on the `aiohttp.access` logger, at INFO, in aiohttp's default format
(`%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"`), except that nothing that may carry a credential is written:
query values (`?token=***`) and the Referer's query, fragment and user-info are left out. No request header other
than Referer and User-Agent is ever logged."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

HIDDEN = "***"


def redacted_query(query: str) -> str:
    """`a=1&token=x&flag` -> `a=***&token=***&***`: the keys, never the values (a bare key may be a value)."""
    return "&".join(f"{key}={HIDDEN}" if sep else HIDDEN
                    for key, sep, _ in (part.partition("=") for part in query.split("&")))


def redacted_url(url: str) -> str:
    """A Referer without its user-info, query and fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return HIDDEN
    if not parts.scheme:
        return parts.path or "-"
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class AccessLog(AbstractAccessLogger):
    """aiohttp's default access line, credentials left out (see the module doc)."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time_taken: float) -> None:
        query = request.query_string
        target = f"{request.path}?{redacted_query(query)}" if query else request.path
        version = request.version
        referer = request.headers.get("Referer")
        started = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(time.time() - time_taken))
        self.logger.info('%s [%s] "%s %s HTTP/%d.%d" %d %d "%s" "%s"', request.remote or "-", started,
                         request.method, target, version.major, version.minor, response.status,
                         response.body_length, redacted_url(referer) if referer else "-",
                         request.headers.get("User-Agent", "-"))
