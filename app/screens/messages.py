"""The console's app-wide messages. A screen hears that something changed by handling one of these (`BaseScreen`
does: `on_environment_changed`, `on_pending_changed`, `on_sync_changed`); the app posts them to the screens that
care and never asks a screen whether it has a method. A thread (the store's watcher, a worker) hands one over with
`post_from_thread`, which never waits: the app may be closing."""

from __future__ import annotations

from textual.message import Message
from textual.message_pump import MessagePump


class BranchMoved(Message):
    """The store's watcher saw the branch of `env` move to `commit`. Posted to the app from the watcher's thread;
    the app reads the new snapshot (`app/screens/live.py`) and then tells the screens `EnvironmentChanged`."""

    def __init__(self, env: str, commit: str) -> None:
        self.env, self.commit = env, commit
        super().__init__()


class EnvironmentChanged(Message, bubble=False):
    """What the open environment holds changed: a commit or a revert made here, a branch moved underneath, another
    environment or namespace opened. Posted to every screen on the stack; each re-reads what it shows."""


class PendingChanged(Message, bubble=False):
    """The pending edits or their conflicts changed without a Git read (an editor's stale edit settled as a
    conflict). Posted to the active screen, which shows them again."""


class SyncChanged(Message, bubble=False):
    """The open environment's sync state changed (pushed, fetched, remote unreachable). Posted to the app from its
    sync worker; the app passes it to the active screen, whose context line says so."""


def post_from_thread(target: MessagePump, message: Message) -> None:
    """Post `message` to `target` from any thread without waiting (Textual's `post_message` is thread-safe); a
    closing app just drops it."""
    try:
        target.post_message(message)
    except RuntimeError:  # the app's event loop is already closed
        pass
