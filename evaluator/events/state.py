"""What webhook delivery keeps on disk, under `events.state_dir`:

- `webhooks/<name>/<env>.cursor`: the last commit of the environment delivered (or given up on) to the webhook,
  written atomically (temporary file, fsync, rename) after each delivery, so a restart neither loses nor repeats
  an event. The first time a webhook meets an environment its cursor is the branch tip: events start with the
  next commit (`flagdeck log` shows what came before).
  A branch environment's (`ENV/NAME`, when its webhook has `branches: true`) is `ENV%2FNAME.cursor`, and starts
  where the branch left its base (so the branch's own commits are events from the first).
- `webhooks/<name>/<env>.lock`: held (flock) by the one process delivering that webhook's events of that
  environment — several workers, or several `flagdeck serve` replicas sharing the directory, take turns, so each
  event goes out once; replicas with separate directories each deliver it, with the same idempotency key.
- `deliveries.jsonl`: the delivery log, one JSON object a line (`Delivery`), newest last; trimmed to its last
  `LOG_KEEP` lines when it grows past `LOG_MAX_BYTES`.
Everything here blocks (files): the delivery task calls it from a thread."""

from __future__ import annotations

import contextlib
import fcntl
import os
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import orjson
from pydantic import BaseModel

LOG_NAME = "deliveries.jsonl"
LOG_MAX_BYTES = 4 << 20
LOG_KEEP = 5000

Status = Literal["sent", "retrying", "failed"]


class Delivery(BaseModel, frozen=True):
    time: datetime
    webhook: str
    environment: str
    event: str  # the idempotency key
    commit: str
    subject: str
    status: Status
    attempt: int
    http_status: int | None = None
    error: str | None = None
    next_attempt: datetime | None = None  # when retrying
    resent_by: str | None = None  # a resend (`flagdeck webhooks resend`, the console): who asked for it


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class Cursor:
    """The delivery cursor of one webhook in one environment, and the lock of whoever delivers them."""

    def __init__(self, state_dir: Path, webhook: str, environment: str):
        self.directory = state_dir / "webhooks" / webhook
        name = quote(environment, safe="")  # a branch environment, `production/fix`: `production%2Ffix`
        self.path = self.directory / f"{name}.cursor"
        self._lock_path = self.directory / f"{name}.lock"
        self._lock: int | None = None

    def read(self) -> str | None:
        try:
            found = orjson.loads(self.path.read_bytes()).get("commit")
        except (FileNotFoundError, orjson.JSONDecodeError, AttributeError):
            return None
        return found if isinstance(found, str) else None

    def write(self, commit: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.path, orjson.dumps({"commit": commit}))

    def try_lock(self) -> bool:
        """Whether this process holds (or now took) the delivery lock; False while another holds it."""
        if self._lock is not None:
            return True
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock = fd
        return True

    def unlock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None


class DeliveryLog:
    def __init__(self, state_dir: Path):
        self.path = state_dir / LOG_NAME

    def add(self, delivery: Delivery) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = orjson.dumps(delivery.model_dump(mode="json")) + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write of one line: appends of several processes do not interleave
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size > LOG_MAX_BYTES:
            self._trim()

    def _trim(self) -> None:
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            kept = self.path.read_bytes().splitlines(keepends=True)[-LOG_KEEP:]
            _write_atomically(self.path, b"".join(kept))
        finally:
            os.close(fd)

    def given_up(self, webhook: str, environment: str) -> list[Delivery]:
        """The events of the webhook in the environment whose latest record is `failed` (given up, and not sent
        by a resend since), oldest first: each one's latest record."""
        latest: dict[str, Delivery] = {}
        for record in reversed(self.recent(LOG_KEEP * 2, webhook, environment)):  # in the order first seen
            latest[record.event] = record
        return [d for d in latest.values() if d.status == "failed"]

    def recent(self, limit: int = 100, webhook: str | None = None, environment: str | None = None) -> list[Delivery]:
        """The last `limit` records (of one webhook, one environment), newest first; unreadable lines skipped."""
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        found: list[Delivery] = []
        for line in reversed(lines):
            try:
                record = Delivery.model_validate(orjson.loads(line))
            except ValueError:
                continue
            if (webhook is None or record.webhook == webhook) and (
                    environment is None or record.environment == environment):
                found.append(record)
                if len(found) >= limit:
                    break
        return found
