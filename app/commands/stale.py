"""`flagdeck stale`: the stale flags of an environment (a CI gate: exit 1 when any is stale).

    flagdeck stale --env production
    flagdeck stale --env production --namespace checkout --days 30 --json

A flag is stale when its metadata says `lifecycle: temporary` and it is past `expires`, was not evaluated in N days,
or served one value to 100% of its evaluations in N days (`app/insight/stale.py`). Counts come from the evaluator's
analytics (SQLite under its state directory, or Prometheus); client-side SDK evaluations are not counted. Exit 0
when none is stale, 1 when any is, 2 on usage errors (and on anything that stops the check)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.commands.lifecycle_options import days_option, now_option, parse_now
from app.insight.stale import span_text

if TYPE_CHECKING:
    from app.insight.stale import Window
    from app.insight.stale_scan import Judged

CLIENT_NOTE = "client-side SDK evaluations are not counted"


@dataclass(frozen=True)
class Scan:
    environment: str
    source: str
    window: Window
    judged: list[Judged]

    def stale(self) -> list[Judged]:
        return sorted((j for j in self.judged if j.verdict.stale), key=lambda j: (j.namespace, j.flag.key))

    def unknown(self) -> list[Judged]:
        return sorted((j for j in self.judged if j.verdict.status == "unknown"), key=lambda j: (j.namespace, j.flag.key))


def scan(config: Path | None, env: str | None, namespace: str | None, days: int | None, now: datetime) -> Scan:
    """Judge every flag of the environment (or one namespace) at its branch tip, over `days` (None: the
    configuration's `lifecycle.stale_days`). Raises FlagdeckError."""
    from app.commands.access import open_cli_store
    from app.commands.offline import warn_if_offline
    from app.insight.ages import young_flags
    from app.insight.stale_scan import judge, window_for
    from app.settings import FlagdeckConfig
    from evaluator.analytics.reader import open_reader
    from gitstore.errors import NotFoundError

    store = open_cli_store(config)
    try:
        env = env or store.config.default_environment
        config_read = store.config
        assert isinstance(config_read, FlagdeckConfig)  # open_cli_store reads every section
        days = days or config_read.lifecycle.stale_days
        tolerance = timedelta(seconds=config_read.lifecycle.max_uncovered)
        snapshot = store.snapshot(env)
        warn_if_offline(store, env)
        if namespace is not None and namespace not in snapshot.namespaces:
            raise NotFoundError(f"environment {env!r} has no namespace {namespace!r}")
        docs = [(key, doc) for key, ns in sorted(snapshot.namespaces.items())
                if (namespace is None or key == namespace) and (doc := ns.document) is not None]
        existing = young_flags(store, env, now, days)
    finally:
        store.close()
    reader = open_reader(config_read)
    try:
        window = window_for(reader, env, now, days, tolerance)
        judged = judge(docs, reader, env, window, existing, namespace)
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    return Scan(env, reader.source, window, judged)


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _human(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "never (in the counts kept)"


def as_json(result: Scan) -> dict[str, Any]:
    def item(j: Judged) -> dict[str, Any]:
        return {"namespace": j.namespace, "flag": j.flag.key, "owner": j.lifecycle.owner,
                "expires": j.lifecycle.expires.isoformat() if j.lifecycle.expires else None,
                "reasons": list(j.verdict.reasons), "codes": list(j.verdict.codes), "value": j.verdict.value,
                "lastEvaluation": _time(j.verdict.last_seen)}

    w = result.window
    return {"environment": result.environment, "now": _time(w.now), "days": w.days, "source": result.source,
            "coverageSince": _time(w.coverage_since), "note": CLIENT_NOTE,
            "uncovered": [{"from": _time(a), "to": _time(b)} for a, b in w.gaps],
            "uncoveredSeconds": w.uncovered.total_seconds(), "maxUncoveredSeconds": w.tolerance.total_seconds(),
            "stale": [item(j) for j in result.stale()], "unknown": [item(j) for j in result.unknown()]}


def print_table(result: Scan) -> None:
    stale = result.stale()
    rows = [(f"{j.namespace}/{j.flag.key}", "; ".join(j.verdict.reasons), _human(j.verdict.last_seen),
             j.lifecycle.owner or "-") for j in stale]
    if rows:
        header = ("FLAG", "WHY STALE", "LAST EVALUATION", "OWNER")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        for row in [header, *rows]:
            click.echo("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    temporary = sum(1 for j in result.judged if j.lifecycle.kind is not None and j.lifecycle.kind.value == "temporary")
    w = result.window
    click.echo(f"{result.environment}: {len(stale)} stale of {temporary} temporary flag(s) "
               f"(rules over {w.days} days; counts from {result.source}; {CLIENT_NOTE})", err=True)
    if w.gaps:
        verdict = "too much to judge by counts" if not w.covered else "tolerated"
        click.echo(f"coverage: {w.gaps_text()}; {verdict} (lifecycle.max_uncovered: {span_text(w.tolerance)})",
                   err=True)
    unknown = result.unknown()
    if unknown:
        names = ", ".join(f"{j.namespace}/{j.flag.key}" for j in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        click.echo(f"unknown: {len(unknown)} temporary flag(s) ({names}{more}): "
                   f"{unknown[0].verdict.reasons[0]}", err=True)


@click.command(name="stale")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
@click.option("--env", default=None, help="Environment (default: the configured default).")
@click.option("--namespace", default=None, help="Only this namespace (default: all).")
@days_option
@click.option("--json", "as_json_output", is_flag=True, help="One JSON object: the stale and the unknown flags.")
@now_option
def command(config_path: Path | None, env: str | None, namespace: str | None, days: int | None, as_json_output: bool,
            now_text: str | None) -> None:
    """List the stale flags of an environment; exit 1 when any is stale (a CI gate), 0 when none."""
    from gitstore.errors import FlagdeckError

    now = parse_now(now_text)
    try:
        result = scan(config_path, env, namespace, days, now)
    except (FlagdeckError, OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    if as_json_output:
        click.echo(json.dumps(as_json(result), indent=2))
    else:
        print_table(result)
    sys.exit(1 if result.stale() else 0)
