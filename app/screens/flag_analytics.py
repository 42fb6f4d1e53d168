"""A flag's evaluations (issue 16), every environment side by side: totals over 1 h / 24 h / 7 d / 30 d, the chosen
window's chart, and its counts per value served and per reason as bars. `1`-`4` choose the window, `r` reads again.
Counts are the evaluator's server-side counts (client-side SDK evaluations are not counted); read in a worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from app.insight.stale import span_text
from app.insight.usage import NOT_COUNTED, WINDOWS, EnvUsage, compact, flag_usage, sparkline
from app.screens.base import BACK, BaseScreen
from app.widgets.key_footer import KeyFooter

BAR = 14  # characters of the longest bar


def bars(title: str, counts: dict[str, int], total: int) -> Text:
    text = Text(f"{title}\n", "bold")
    if not counts:
        text.append("  none\n", "dim")
        return text
    top = max(counts.values())
    width = max(len(k or "(no variant)") for k in counts)
    for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        label = key or "(no variant)"
        length = max(1, round(BAR * count / top)) if count else 0
        text.append(f"  {label.ljust(width)} ")
        text.append("█" * length, "bold")
        text.append(" " * (BAR - length) + f" {compact(count):>5} {100 * count / total:5.1f}%\n")
    return text


def render_env(found: EnvUsage, window: str, now: datetime) -> Text:
    text = Text(f"{found.environment}\n", "bold reverse")
    totals = "  ".join(f"{name} {compact(u.total) if (u := found.usage[name]) else 0}" for name, _ in WINDOWS)
    text.append(f"{totals}\n")
    width = dict(WINDOWS)[window]
    since = found.coverage_since
    if since is None:
        text.append("nothing counted in this environment yet\n", "italic")
    elif since > now - width:
        text.append(f"counts only since {since:%Y-%m-%d %H:%M} UTC\n", "italic")
    gaps = [(max(a, now - width), b) for a, b in found.gaps if b > now - width]
    if gaps:
        off = sum((b - a for a, b in gaps), timedelta(0))
        a, b = max(gaps, key=lambda g: g[1] - g[0])
        text.append(f"counting was off for {span_text(off)} in this window (longest {a:%Y-%m-%d %H:%M} to "
                    f"{b:%Y-%m-%d %H:%M} UTC): evaluations then are not counted\n", "italic")
    usage = found.usage[window]
    text.append(f"last {window}: ", "bold")
    text.append(f"{sparkline(found.series[window])}\n")
    if usage is None:
        text.append("no evaluation\n")
        return text
    text.append(f"{usage.total:,} evaluations")
    last = getattr(usage, "last_seen", None)
    text.append(f", the last at {last:%Y-%m-%d %H:%M} UTC\n" if last else "\n")
    text.append_text(bars("by value served", dict(usage.by_value), usage.total))
    text.append_text(bars("by reason", dict(usage.by_reason), usage.total))
    errors = dict(getattr(usage, "errors", {}) or {})
    if errors:  # failed evaluations (not found, wrong type): counted apart from those served
        failed = sum(errors.values())
        text.append_text(bars(f"failed evaluations ({failed:,}, not in the counts above)", errors, failed))
    return text


class FlagAnalyticsScreen(BaseScreen):
    SCREEN_TITLE = "Flag analytics"
    BINDINGS = [
        Binding("1", "window('1h')", "1 h", tooltip="Counts of the last hour"),
        Binding("2", "window('24h')", "24 h", tooltip="Counts of the last 24 hours"),
        Binding("3", "window('7d')", "7 d", tooltip="Counts of the last 7 days"),
        Binding("4", "window('30d')", "30 d", tooltip="Counts of the last 30 days"),
        Binding("r", "reload", "Reload", show=False, tooltip="Read the counts again"),
        BACK,
    ]

    def __init__(self, flag: str) -> None:
        super().__init__()
        self.flag = flag
        self.window = "24h"
        self.found: list[EnvUsage] | None = None

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield Static("", id="analytics-title", classes="section-title", markup=False)
        with Horizontal(id="analytics-envs"):
            for env in self.envs():
                with VerticalScroll(classes="analytics-env"):
                    yield Static("loading…", id=f"env-{self.envs().index(env)}", markup=False)
        yield Static("", id="analytics-note", classes="status-line", markup=False)
        yield KeyFooter()

    def envs(self) -> list[str]:
        """Every environment the session knows, the current one first."""
        s = self.session
        return [s.env, *sorted(e for e in s.env_names if e != s.env)]

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        reader = self.console.analytics
        self.show_title()
        if reader is None:
            self.query_one("#analytics-note", Static).update(
                "No evaluation counts: this configuration has no analytics (see the README, Evaluation analytics).")
            return
        self.run_git(flag_usage, reader, self.envs(), self.session.namespace, self.flag, self.session.clock(),
                     then=self.loaded, what="Could not read the evaluation counts", group="analytics",
                     exclusive=True)

    def show_title(self) -> None:
        reader = self.console.analytics
        source = f"counts from {reader.source}; " if reader is not None else ""
        self.query_one("#analytics-title", Static).update(
            f"Evaluations of {self.session.namespace}/{self.flag}, window {self.window} ({source}{NOT_COUNTED})")

    def loaded(self, found: list[EnvUsage]) -> None:
        self.found = found
        self.redraw()

    def redraw(self) -> None:
        self.show_title()
        if self.found is None:
            return
        now = self.session.clock()
        for i, env in enumerate(self.found):
            self.query_one(f"#env-{i}", Static).update(render_env(env, self.window, now))

    def action_window(self, name: str) -> None:
        self.window = name
        self.redraw()

    def action_reload(self) -> None:
        self.reload()
