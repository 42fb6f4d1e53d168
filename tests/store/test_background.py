"""gitstore.git.background: the thread a commit hashes and deflates its blob on works in a forked child too (the
evaluator forks its workers) — an executor inherited across a fork has no thread and would never answer."""

from __future__ import annotations

import os

from gitstore.git import background


def _twice(n: int) -> int:
    return 2 * n


def test_a_forked_child_gets_its_own_thread() -> None:
    assert background.soon("test", _twice, 4).result(timeout=10) == 8  # the parent's thread exists now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only when its own thread answered
        try:
            code = 0 if background.soon("test", _twice, 5).result(timeout=10) == 10 else 1
        except BaseException:  # noqa: BLE001 - any failure is the child's exit code
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert background.soon("test", _twice, 6).result(timeout=10) == 12  # the parent's still works
