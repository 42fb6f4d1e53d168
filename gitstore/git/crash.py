"""Named points of a commit at which the fault-injection tests kill the writer (`tests/faults/`): with
`FLAGDECK_CRASH_AT=<point>` in its environment, a process sends itself SIGKILL when it reaches that point. Unset
(always, outside those tests) it costs one string comparison.

Points: `object-written` (commit object written, branch not moved), `worktree-written` (work tree and index
updated, branch not moved), `ref-locked` (inside the compare-and-swap, holding `refs/heads/<b>.lock`), `ref-moved`
(branch moved, work-tree journal not removed yet)."""

from __future__ import annotations

import os
import signal

CRASH_AT = os.environ.get("FLAGDECK_CRASH_AT", "")


def point(name: str) -> None:
    if CRASH_AT == name:
        os.kill(os.getpid(), signal.SIGKILL)
