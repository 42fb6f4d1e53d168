"""`flagdeck stats`: how often each flag was evaluated by the evaluator(s) over a window, with the values served and
the reasons, from the analytics store next to flagdeck.yaml or from Prometheus (`analytics.prometheus.url`).
Client-side SDK evaluations are not counted (they never reach the server).

    flagdeck stats --env production
    flagdeck stats --env production --namespace default color-theme --since 7d --json
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.commands.writing import config_option, json_option

if TYPE_CHECKING:
    from evaluator.analytics.reader import FlagUsage


def _window(value: str) -> timedelta:
    from evaluator.analytics.config import parse_window

    try:
        return timedelta(seconds=parse_window(value))
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (e.g. 1h, 24h, 7d, 30d)", param_hint="--since") from None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


def _shares(counts: dict[str, int], total: int) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{key or '(none)'} {count} ({count * 100 // total}%)" for key, count in ordered)


def _failed(usage: FlagUsage) -> str:
    """'; failed 3 (NOT_FOUND_ERROR_EVALUATION_REASON 3)', or '' when none failed."""
    errors = usage.errors
    if not errors:
        return ""
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(errors.items(), key=lambda item: (-item[1], item[0])))
    return f"{'; ' if usage.total else ''}failed {sum(errors.values())} ({reasons})"


def usage_json(usage: FlagUsage) -> dict[str, Any]:
    return {"namespace": usage.namespace, "flag": usage.flag, "total": usage.total, "by_value": usage.by_value,
            "by_reason": usage.by_reason, "failed": sum(usage.errors.values()), "failed_by_reason": usage.errors,
            "last_seen": usage.last_seen.isoformat() if usage.last_seen is not None else None}


@click.command("stats")
@click.argument("flag", required=False)
@click.option("--env", "env", required=True, help="The environment whose evaluations to count.")
@click.option("-n", "--namespace", "namespace", default=None, help="Only this namespace (default: all).")
@click.option("--since", "since", default="24h", show_default=True, help="The window: 1h, 24h, 7d, 30d, ...")
@json_option
@config_option
def command(flag: str | None, env: str, namespace: str | None, since: str, as_json: bool,
            config_path: Path | None) -> None:
    """Evaluation counts of an environment's flags over a window: totals, per value served and per reason."""
    from app.settings import load_flagdeck_config
    from evaluator.analytics.reader import NOT_COUNTED, open_reader
    from gitstore.errors import ConfigError, FlagdeckError

    window = _window(since)
    try:
        config = load_flagdeck_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    reader = open_reader(config)
    until = datetime.now(UTC)
    start = until - window
    try:
        covered = reader.coverage_since(env)
        if covered is None and env not in config.environments:
            known = ", ".join(config.environments)
            raise click.UsageError(f"unknown environment {env!r} (configured: {known})")
        found = reader.usage(env, start, until, namespace, flag)
    except FlagdeckError as exc:
        raise click.ClickException(str(exc)) from None
    rows = sorted(found.values(), key=lambda u: (-u.total, u.namespace, u.flag))
    where = (f"Prometheus {config.analytics.prometheus.url}" if config.analytics.prometheus is not None
             else f"{config.analytics.database(config.path)}")
    if as_json:
        click.echo(json.dumps({
            "environment": env, "namespace": namespace, "flag": flag, "since": start.isoformat(),
            "until": until.isoformat(), "source": reader.source, "coverage_since": covered and covered.isoformat(),
            "note": NOT_COUNTED, "total": sum(u.total for u in rows), "flags": [usage_json(u) for u in rows]},
            indent=2))
        return
    click.echo(f"{env}: evaluations in the last {since} ({_when(start)} to {_when(until)}), from {reader.source} "
               f"({where}); {NOT_COUNTED}")
    if covered is None:
        click.echo("nothing counted yet in this environment")
        return
    if covered > start:
        click.echo(f"note: counts kept since {_when(covered)} only")
    if not rows:
        what = f"flag {flag!r}" if flag else "any flag"
        click.echo(f"no evaluation of {what}{f' in namespace {namespace!r}' if namespace else ''} in the window")
        return
    if flag is not None or len(rows) == 1:
        for usage in rows:
            failed = sum(usage.errors.values())
            click.echo(f"{usage.namespace}/{usage.flag}: {usage.total} evaluations, last {_when(usage.last_seen)}"
                       + (f"; {failed} failed" if failed else ""))
            for title, counts in (("value", usage.by_value), ("reason", usage.by_reason)):
                for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                    click.echo(f"  {title} {key or '(none)':<32} {count:>10}  {count * 100 / usage.total:5.1f}%")
            for key, count in sorted(usage.errors.items(), key=lambda item: (-item[1], item[0])):
                click.echo(f"  failed {key:<31} {count:>10}")
        return
    table = [("NAMESPACE", "FLAG", "TOTAL", "LAST SEEN", "VALUES")]
    table += [(u.namespace, u.flag, str(u.total), _when(u.last_seen), _shares(u.by_value, u.total) + _failed(u))
              for u in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3].ljust(widths[3])]
        click.echo("  ".join([*cells, row[4]]))
    failed = sum(sum(u.errors.values()) for u in rows)
    click.echo(f"total: {sum(u.total for u in rows)} evaluations of {len(rows)} flag{'s' if len(rows) > 1 else ''}"
               + (f"; {failed} failed evaluations (not in the totals)" if failed else ""))
