"""The Flagdeck console: a Textual app over the Git store. The store, clock and author come in through a `Session`,
so tests drive the real app over real repositories with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, TextArea

from app.insight.live import Insight
from app.screens.flags import FlagsScreen
from app.screens.live import LiveRefresh, Refreshed
from app.screens.messages import BranchMoved, EnvironmentChanged, SyncChanged, post_from_thread
from app.screens.modals.confirm import ConfirmModal
from app.screens.palette import NavigationProvider
from app.session import Session

THEMES = ("textual-dark", "textual-light", "nord", "gruvbox")
SYNC_EVERY = 2.0  # seconds between two reads of the open environment's sync state (a cheap local ref read)


class ConsoleApp(App[None]):
    TITLE = "Flagdeck"
    COMMANDS = App.COMMANDS | {NavigationProvider}
    CSS_PATH = "console.tcss"
    BINDINGS = [
        # Tab and shift+tab move the focus as the key arrives (Textual's own bindings wait for the keys before them
        # to reach the focused field): in "key, tab, name" typed quickly or over SSH, the name went into the key
        Binding("tab", "focus_next", "Next field", show=False, priority=True,
                tooltip="Move to the next field, list or button"),
        Binding("shift+tab", "focus_previous", "Previous field", show=False, priority=True,
                tooltip="Move to the previous field, list or button"),
        Binding("q", "quit", "Quit",
                tooltip="Leave the console (asks first when edits are not committed)"),
        Binding("ctrl+s", "review", "Review",
                tooltip="Every pending edit as the commit's diff, with its impact; commit"),
        Binding("f1", "help", "Help",
                tooltip="Every key of this screen, and what it does"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("g", "segments", "Segments", show=False,
                tooltip="The namespace's segments: create, edit, delete"),
        Binding("N", "namespaces", "Namespaces", show=False,
                tooltip="The environment's namespaces: open, create, rename, delete"),
        Binding("E", "environments", "Environments", show=False,
                tooltip="Every environment: open one, fetch, push, sync state"),
        Binding("T", "timeline", "Timeline", show=False,
                tooltip="The environment's scheduled changes and ramps: cancel, pause, resume, abort"),
        Binding("ctrl+t", "next_theme", "Theme", show=False,
                tooltip="Switch to the next colour theme"),
    ]

    def __init__(self, session: Session, *, theme: str = "textual-dark", cursor_blink: bool = True,
                 remote: bool = False) -> None:
        super().__init__()
        self.session = session
        self.remote = remote  # served over SSH: nothing the person does may write files on the server
        self.initial_theme = theme
        self.cursor_blink = cursor_blink
        self.unwatch: Any = None
        self.insight = Insight(session)  # conflicts, stale editors, impact sample, recent contexts (issue 6)
        self.live = LiveRefresh(self)  # follows the store's branch moves (app/screens/live.py)
        self._proposals: Any = None
        self._analytics: Any = None
        self.analytics_error: str | None = None

    @property
    def proposals(self) -> Any:
        """The change proposals of the session's store (gitstore.proposals), made when first asked for."""
        if self._proposals is None:
            from gitstore.proposals.service import Proposals

            self._proposals = Proposals(self.session.store)  # type: ignore[arg-type]
        return self._proposals

    @property
    def analytics(self) -> Any:
        """The evaluation counts' reader (`evaluator.analytics.reader.open_reader`) of the store's configuration,
        made when first asked for; None when the configuration has no analytics (a store opened on gitstore's
        sections only). Its methods block: call them in workers."""
        if self._analytics is None:
            config = self.session.store.config
            if getattr(config, "analytics", None) is None:
                return None
            from evaluator.analytics.reader import open_reader

            self._analytics = open_reader(config)  # type: ignore[arg-type]
        return self._analytics

    @analytics.setter
    def analytics(self, reader: Any) -> None:
        self._analytics = reader

    def on_mount(self) -> None:
        self.theme = self.initial_theme
        self.push_screen(FlagsScreen())
        self.unwatch = self.live.start()
        self.set_interval(SYNC_EVERY, self.refresh_sync)

    def refresh_sync(self) -> None:
        """Re-read the sync state of the open environment when it has a remote (the store's watcher pushes and
        fetches behind the scenes), and show it in the context line when it changed."""
        env = self.session.env
        if not env or not self.session.has_remote(env):
            return
        before = self.session.sync.get(env)

        def read() -> None:
            state = self.session.refresh_sync(env)
            if state != before:
                post_from_thread(self, SyncChanged())

        self.run_worker(read, thread=True, exclusive=True, group="sync", exit_on_error=False,
                        description=f"sync state of {env}")

    def on_unmount(self) -> None:
        if self.unwatch is not None:
            self.unwatch()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not self.cursor_blink and isinstance(event.widget, Input | TextArea):
            event.widget.cursor_blink = False

    # ----- what changed, told to the screens (app/screens/messages.py) ---------------------------------------
    def on_branch_moved(self, event: BranchMoved) -> None:
        self.live.branch_moved(event.env, event.commit)

    def on_refreshed(self, event: Refreshed) -> None:
        self.live.applied(event)

    def on_sync_changed(self) -> None:
        self.screen.post_message(SyncChanged())

    def environment_changed(self) -> None:
        """Every screen on the stack re-reads its data (after a commit, a revert, a switch, a branch move)."""
        for screen in self.screen_stack:
            screen.post_message(EnvironmentChanged())

    # ----- navigation -----------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        from app.screens.review import ReviewScreen

        # not offered where it is already open (under a dialog too)
        return not (action == "review" and any(isinstance(s, ReviewScreen) for s in self.screen_stack))

    def action_review(self) -> None:
        from app.screens.review import ReviewScreen

        if not isinstance(self.screen, ReviewScreen):
            self.push_screen(ReviewScreen())

    def action_help(self) -> None:
        from app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_segments(self) -> None:
        from app.screens.segments import SegmentsScreen

        self.push_screen(SegmentsScreen())

    def action_namespaces(self) -> None:
        from app.screens.namespaces import NamespacesScreen

        self.push_screen(NamespacesScreen())

    def action_environments(self) -> None:
        from app.screens.environments import EnvironmentsScreen

        self.push_screen(EnvironmentsScreen())

    def action_timeline(self) -> None:
        from app.screens.timeline import TimelineScreen

        info = self.session.infos.get(self.session.env)
        self.push_screen(TimelineScreen(info.base if info is not None and info.base else self.session.env))

    def action_next_theme(self) -> None:
        self.theme = THEMES[(THEMES.index(self.theme) + 1) % len(THEMES)] if self.theme in THEMES else THEMES[0]
        self.notify(f"Theme: {self.theme}")

    def switch_to(self, env: str | None = None, namespace: str | None = None) -> None:
        """Show another environment or namespace: back to the flag list, which reloads."""
        if env is not None:
            self.session.env = env
        if namespace is not None:
            self.session.namespace = namespace
        self.session.remember_place()
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.environment_changed()

    # ----- quitting -------------------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        count = len(self.session.pending)
        if not count:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmModal("Quit", f"{count} pending edit(s) are not committed and will be lost. Quit?",
                                      "Quit", "Stay"), answered)

    # ----- command palette: every action of the current screen, plus the app's --------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in seen or not active.enabled:
                continue
            seen.add(binding.action)
            key = binding.key_display or self.get_key_display(binding)
            yield SystemCommand(f"{binding.description} ({key})", binding.tooltip or binding.description,
                                partial(self.run_action, binding.action, active.node))
        yield SystemCommand("Change theme…", "Pick a colour theme", self.action_change_theme)
        if not self.remote:
            yield SystemCommand("Take a screenshot", "Save an SVG screenshot", lambda: self.action_screenshot())

    # ----- files: Textual saves screenshots and deliveries on the machine the console runs on ---------------------
    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen where Textual saves downloads (`~/Downloads`). The file name and directory are
        never taken from the caller: an action can be named by text on the screen (a `@click` link), so a place to
        write must not be. Over SSH nothing is written: the file would land on the server, out of the person's
        reach, in the server account's home."""
        if self.remote:
            self.notify("Screenshots are not saved over SSH (the file would be written on the server).",
                        title="Screenshot", severity="warning")
            return
        self.deliver_screenshot()

    def deliver_binary(self, *args: Any, **kwargs: Any) -> str | None:
        return None if self.remote else super().deliver_binary(*args, **kwargs)

    def deliver_text(self, *args: Any, **kwargs: Any) -> str | None:
        return None if self.remote else super().deliver_text(*args, **kwargs)

    def save_screenshot(self, *args: Any, **kwargs: Any) -> str:
        if self.remote:
            raise PermissionError("screenshots are not saved over SSH")
        return super().save_screenshot(*args, **kwargs)
