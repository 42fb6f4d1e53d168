"""After a commit, the text index and key index of each big file written are kept on disk for the first commit of
the next process on those blobs (`gitstore.edit.stored.save`), once this process's commits pause (`IDLE` seconds
without another), or when its Store closes or the process ends (`flush`). Saving holds the interpreter for a few
tens of milliseconds (JSON): on a thread of its own right after each commit it slowed a run of commits made back to
back by about that much (100,000 flags: 151 -> 204 ms, bench/cli.py). A newer commit of a file replaces its
pending save; only the last one is written. Imports nothing that touches a repository handle."""

from __future__ import annotations

import atexit
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gitstore.edit import stored
from gitstore.format import cache

if TYPE_CHECKING:
    from gitstore.model.documents import Document

IDLE = 0.5  # seconds without a commit before the pending saves are made

Save = tuple[Path, str, str, str, "Document"]  # directory, blob id, path, text, document: `stored.save`'s arguments
_pending: dict[tuple[Path, str], Save] = {}
_cond = threading.Condition()
_busy = threading.Lock()  # held while saving: `flush` waits for a save under way
_last = 0.0
_thread_pid = 0


def keep(git_dir: str | Path, written: list[tuple[str, str, str, Document]]) -> None:
    """Keep the indexes of these files of the repository at `git_dir`, each (blob id, path, text, document) as the
    commit wrote it, once commits pause (the module docstring); those of small files are not kept."""
    global _last
    directory = cache.cache_dir(git_dir)
    written = [item for item in written if len(item[2]) >= stored.SAVED_FROM]
    if directory is None or not written:
        return
    with _cond:
        for blob, path, text, document in written:
            _pending[(directory, path)] = (directory, blob, path, text, document)
        _last = time.monotonic()
        _start()
        _cond.notify_all()


def flush() -> None:
    """Make the pending saves now (a Store closing, the process ending), and wait for one under way."""
    with _busy:
        with _cond:
            batch = list(_pending.values())
            _pending.clear()
        _save(batch)


def _start() -> None:
    global _thread_pid
    if _thread_pid != os.getpid():  # a forked child has no thread of its parent's
        _thread_pid = os.getpid()
        threading.Thread(target=_run, name="flagdeck-kept-indexes", daemon=True).start()


def _run() -> None:
    while True:
        with _cond:
            while not _pending or time.monotonic() < _last + IDLE:
                _cond.wait(None if not _pending else max(_last + IDLE - time.monotonic(), 0.001))
        with _busy:  # from taking the batch to its end: `flush` waits for it
            with _cond:
                batch = list(_pending.values())
                _pending.clear()
            _save(batch)


def _save(batch: list[Save]) -> None:
    for item in batch:
        try:
            stored.save(*item)
        except Exception:  # noqa: BLE001, S112 - a cache that cannot be written is no cache
            continue


atexit.register(flush)
