"""A thread of this process for work that lets go of the GIL (hashing, deflating a big blob), so a commit does
it while its own thread goes on. Imports nothing of gitstore, never touches a repository handle (those stay on
their repository's thread), and a forked child makes its own thread (an executor inherited across a fork has none,
and would never run what it is given)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}


def soon(name: str, fn: Callable[..., T], *args: Any) -> Future[T]:
    """`fn(*args)` on this process's thread `name` (one thread per name, started when first asked for)."""
    with _lock:
        found = _pools.get(name)
        if found is None or found[0] != os.getpid():
            found = _pools[name] = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix=f"flagdeck-{name}"))
    return found[1].submit(fn, *args)
