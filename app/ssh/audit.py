"""Structured log lines: one JSON object per line for logins, refusals, logouts, commits and server events.

Only identities, key fingerprints, addresses and outcomes are written; never key material, passwords or terminal
content."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

import orjson


class AuditLog:
    def __init__(self, stream: TextIO | None = None):
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def event(self, event: str, **fields: Any) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "event": event}
        record.update({k: v for k, v in fields.items() if v is not None})
        line = orjson.dumps(record, default=str).decode()
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
