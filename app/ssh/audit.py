"""Structured log lines: one JSON object per line for logins, refusals, logouts, commits and server events.

Only identities, key fingerprints, addresses and outcomes are written; never key material, passwords or terminal
content. Refusals are what strangers can cause at will, so they are rate limited (a token bucket: `burst` lines, then
`rate` per second); what was left out is counted and reported in one `suppressed` line as soon as lines flow again
(or at the next `flush`)."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

import orjson


class AuditLog:
    def __init__(self, stream: TextIO | None = None, rate: float = 20.0, burst: float = 100.0):
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()
        self.rate, self.burst = rate, burst
        self._tokens = burst
        self._refilled = time.monotonic()
        self._suppressed: dict[str, int] = {}

    def event(self, event: str, **fields: Any) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "event": event}
        record.update({k: v for k, v in fields.items() if v is not None})
        line = orjson.dumps(record, default=str).decode()
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def limited(self, event: str, **fields: Any) -> None:
        """`event`, unless the bucket is empty: then it is only counted (by event and reason)."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens < 1:
            key = f"{event}: {fields.get('reason', '')}".rstrip(": ")
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._tokens -= 1
        self.flush()
        self.event(event, **fields)

    def flush(self) -> None:
        """Write the `suppressed` line for what the rate limit left out, if anything."""
        if self._suppressed:
            counts, self._suppressed = self._suppressed, {}
            self.event("suppressed", counts=counts, total=sum(counts.values()))
