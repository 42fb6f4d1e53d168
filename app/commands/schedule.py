"""`flagdeck schedule`, `schedules`, `unschedule`: changes to one flag scheduled for a time, kept in the
environment's repository (`.flagdeck/schedules.yaml`, which Flipt does not read) and carried out by `flagdeck
serve` (`gitstore.automation.schedules`). Exit status: 0 done, 1 refused (one line), 2 usage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

import click

from app.commands.flag import patch_of, patch_options
from app.commands.writing import (
    config_option,
    direct_or_proposed,
    env_option,
    glass,
    json_option,
    namespace_option,
    report,
    writer_options,
    writing,
)


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time with a timezone (`2026-12-24T18:00:00Z`), or `+30m`, `+2h`, `+1d` from now."""
    from app.when import parse_when

    try:
        return parse_when(text, now or datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None


@click.command("schedule")
@click.argument("key")
@click.option("--at", "at", required=True, metavar="TIME",
              help="When: ISO 8601 with a timezone (2026-12-24T18:00:00Z), or +30m, +2h, +1d from now.")
@click.option("--missed", "missed", type=click.Choice(["run", "skip"]), default=None,
              help="If the scheduler was down at that time: run late or skip  [default: automation.missed, "
                   "else run].")
@env_option
@namespace_option
@patch_options
@writer_options
def schedule(key: str, at: str, missed: str | None, env: str | None, namespace: str, enabled: str | None,
             threshold: float | None, rollouts: tuple[str, ...], rule: int | None, user: str | None,
             reason: str | None, as_json: bool, config_path: Path | None) -> None:
    """Schedule a change to a flag for a time; `flagdeck serve` commits it then, once."""
    from gitstore.automation import schedules

    patch = patch_of(enabled, threshold, rollouts, rule)
    when = parse_time(at)
    with writing(config_path, user, env, reason) as (store, name, author):
        made, result = direct_or_proposed(
            store, name, reason, "schedule", namespace, key, author,
            lambda target, proposed: schedules.schedule(store, target, namespace, key, patch, when,
                                                        cast(Literal["run", "skip"] | None, missed), author,
                                                        proposed=proposed), as_json)
        if result is None:
            return
        if as_json:
            click.echo(json.dumps({"environment": name, **made.model_dump(mode="json"), "commit": result.commit},
                                  indent=2))
        else:
            report(store, name, result, f"scheduled {made.id}: {made.what()} at {made.at.isoformat()}", False)


@click.command("schedules")
@env_option
@click.option("--all", "show_all", is_flag=True, help="Also the schedules that ran, failed or were cancelled.")
@json_option
@config_option
def listing(env: str | None, show_all: bool, as_json: bool, config_path: Path | None) -> None:
    """List scheduled changes by time: pending ones (--all: with what ran, was skipped, failed or was cancelled)."""
    from gitstore.automation import schedules
    from gitstore.automation.schedules import ScheduleState

    with writing(config_path, None) as (store, _, _):
        found = schedules.listing(store, env)
        if not show_all and not as_json:
            found = [(e, s) for e, s in found if s.state is ScheduleState.PENDING]
        if as_json:
            click.echo(json.dumps([{"environment": e, **s.model_dump(mode="json")} for e, s in found], indent=2))
            return
        for problem in schedules.problems(store, env):
            click.echo(f"warning: {problem}", err=True)
        if not found:
            click.echo("no schedules" if show_all else "no pending schedules")
            return
        rows = [("ID", "ENV", "AT", "STATE", "CHANGE", "BY / NOTE")]
        rows += [(s.id, e, s.at.strftime("%Y-%m-%d %H:%M:%SZ"), s.state.value, s.what(),
                  s.note or s.by.split(" <")[0]) for e, s in found]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            click.echo("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[5]]).rstrip())


@click.command("unschedule")
@click.argument("schedule_id", metavar="ID")
@env_option
@writer_options
def unschedule(schedule_id: str, env: str | None, user: str | None, reason: str | None, as_json: bool,
               config_path: Path | None) -> None:
    """Cancel a pending scheduled change (its record stays, cancelled)."""
    from gitstore.automation import schedules

    with writing(config_path, user, None, None) as (store, _, author):
        target, _ = schedules.SCHEDULES.find(store, schedule_id, env)
        with glass(store, target, reason):
            name, item, result = schedules.cancel(store, schedule_id, target, author)
        report(store, name, result, f"cancelled {item.id}: {item.what()}", as_json, id=item.id)
