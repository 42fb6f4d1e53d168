"""Command-palette navigation: go to a flag (substring first, so 10,000 flags stay instant), switch environment
or namespace. The app's own actions come from the bindings (`ConsoleApp.get_system_commands`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

MAX_FLAG_HITS = 40


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
        doc = self.app.session.document()  # type: ignore[attr-defined]
        if doc is None:
            return []
        needle = query.lower().removeprefix("go to flag").strip()
        return [f.key for f in doc.flags if needle in f.key.lower()][:MAX_FLAG_HITS]

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
