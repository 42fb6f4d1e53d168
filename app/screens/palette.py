"""Command-palette navigation: go to a flag (substring first, so 10,000 flags stay instant), switch environment
or namespace. The app's own actions come from the bindings (`ConsoleApp.get_system_commands`).

The flag list searched is built once per session state (`FlagIndex`) and only filtered per keystroke."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any
from weakref import WeakKeyDictionary

from textual.command import DiscoveryHit, Hit, Hits, Provider

MAX_FLAG_HITS = 40


def session_state(session: Any) -> tuple[Any, ...]:
    """What the namespace document the user sees depends on: environment, namespace, the commit read, and the
    pending edits of that namespace (each edit is a new, immutable Change; compared by identity in `FlagIndex`)."""
    env, namespace = session.env, session.namespace
    snapshot = session.snapshot(env)
    changes = tuple(p.change for p in session.pending_for(env) if p.change.namespace == namespace)
    return (env, namespace, snapshot.commit if snapshot is not None else None), changes


@dataclass
class FlagIndex:
    """The flag keys of the document the user sees, with their lower-case forms, for one session state."""

    state: tuple[Any, ...]
    keys: list[str]
    lowered: list[str]

    @classmethod
    def build(cls, session: Any, state: tuple[Any, ...]) -> FlagIndex:
        doc = session.document()
        keys = [f.key for f in doc.flags] if doc is not None else []
        return cls(state, keys, [k.lower() for k in keys])

    def current_for(self, state: tuple[Any, ...]) -> bool:
        (where, changes), (old_where, old_changes) = state, self.state
        return where == old_where and len(changes) == len(old_changes) and all(
            a is b for a, b in zip(changes, old_changes, strict=True))

    def search(self, needle: str, limit: int = MAX_FLAG_HITS) -> list[str]:
        """The first `limit` keys holding `needle` (already lower-case), in document order."""
        return list(islice((key for key, low in zip(self.keys, self.lowered, strict=True) if needle in low), limit))


# One index per running console (each has its own session); dropped with the app.
_indexes: WeakKeyDictionary[Any, FlagIndex] = WeakKeyDictionary()


def flag_index(app: Any) -> FlagIndex:
    """The app's flag index, rebuilt only when its session state moved (refresh, commit, revert, an edit staged or
    discarded, another environment or namespace)."""
    state = session_state(app.session)
    index = _indexes.get(app)
    if index is None or not index.current_for(state):
        index = _indexes[app] = FlagIndex.build(app.session, state)
    return index


class NavigationProvider(Provider):
    def targets(self) -> list[tuple[str, str, Any]]:
        """(text, help, callback) for every place the palette can take the user."""
        app: Any = self.app
        session = app.session
        found: list[tuple[str, str, Any]] = []
        for env in session.env_names:
            if env != session.env:
                found.append((f"Switch environment: {env}", "show this environment's flags",
                              partial(app.switch_to, env=env)))
        for ns in session.namespace_keys():
            if ns != session.namespace:
                found.append((f"Open namespace: {ns}", "show this namespace's flags",
                              partial(app.switch_to, namespace=ns)))
        return found

    def flags(self, query: str) -> list[str]:
        needle = query.lower().removeprefix("go to flag").strip()
        return flag_index(self.app).search(needle)

    async def discover(self) -> Hits:
        for text, help_text, callback in self.targets():
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, callback in self.targets():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)
        for key in self.flags(query):
            text = f"Go to flag {key}"
            yield Hit(max(matcher.match(text), 0.01), matcher.highlight(text), partial(go_to_flag, self.app, key),
                      help="open the flag's editor")


def go_to_flag(app: Any, key: str) -> None:
    """Back to the flag list, cursor on the flag, editor open."""
    from app.screens.flags import FlagsScreen
    from app.widgets.flag_table import FlagTable

    while len(app.screen_stack) > 2 and not isinstance(app.screen, FlagsScreen):
        app.pop_screen()
    screen = app.screen
    if isinstance(screen, FlagsScreen):
        screen.action_clear_filter()
        if screen.query_one(FlagTable).move_to(key):
            screen.action_open()
