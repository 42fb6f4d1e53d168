"""`flagdeck log --env ENV [--since WHEN|COMMIT] [--namespace NS] [--flag KEY] [--limit N] [--json]`: the audit
trail of an environment from Git, newest first — each commit that changed it (console, CLI, schedule, merged
proposal or a `git push` by hand): who, when, its subject and trailers (`Proposal:`, `Approved-by:`,
`Break-glass:`, `Schedule:`, ...), and each resource it created, updated or deleted with what changed, field by
field, before → after. `--json`: the change sets as `gitstore.events.model.ChangeSet` writes them.
Exit status: 0, 1 on an error (unknown environment, commit or bad --since), 2 usage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitstore.errors import FlagdeckError

if TYPE_CHECKING:
    from gitstore.events.model import ChangeSet, ResourceChange

_AGO = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIGNS = {"created": "+", "updated": "~", "deleted": "-"}


def parse_since(text: str, now: datetime | None = None) -> tuple[datetime | None, str | None]:
    """(time, None) for `7d`, `12h`, `30m`, `2w`, `90s` ago or an ISO date/time (UTC unless it says); else
    (None, text): a commit (any revision)."""
    found = _AGO.match(text.strip())
    if found:
        return (now or datetime.now(UTC)) - timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)]), None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None, text
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), None


def _value(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=False) if value is not None else "(none)"


def resource_lines(change: ResourceChange) -> list[str]:
    lines = [f"  {_SIGNS[change.action]} {change.kind} {change.resource} {change.action}"]
    if change.action == "updated":
        lines += [f"      {f.path or '(value)'}: {_value(f.before)} → {_value(f.after)}" for f in change.fields]
    elif change.action == "deleted" and change.kind != "namespace":
        lines.append(f"      was: {_value(change.before)}")
    return lines


def change_set_lines(found: ChangeSet) -> list[str]:
    when = found.time.strftime("%Y-%m-%d %H:%M:%SZ")
    lines = [f"{found.commit[:8]}  {when}  {found.author_name} <{found.author_email}>  {found.subject}"]
    if found.trailers:
        lines.append("    " + " · ".join(f"{k}: {v}" for k, v in found.trailers))
    for change in found.changes:
        lines += resource_lines(change)
    lines += [f"  ! invalid: {p}" for p in found.problems]
    if not found.changes and not found.problems:  # e.g. a schedule's record: files Flipt does not read
        lines.append("  (no flag, segment or namespace changed)")
    return lines


@click.command("log")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
@click.option("--env", "env", default=None, help="Environment (default: the configured default).")
@click.option("--since", "since", default=None, metavar="WHEN|COMMIT",
              help="Only changes after COMMIT, or since WHEN: 7d, 12h, 30m, 2w ago or an ISO date/time.")
@click.option("-n", "--namespace", "namespace", default=None, help="Only this namespace's changes.")
@click.option("--flag", "flag", default=None, help="Only this flag's changes.")
@click.option("--limit", "limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="At most this many commits.")
@click.option("--json", "as_json", is_flag=True, help="JSON: a list of change sets, newest first.")
def command(config_path: Path | None, env: str | None, since: str | None, namespace: str | None, flag: str | None,
            limit: int, as_json: bool) -> None:
    """The audit trail of an environment from Git: who changed what, when, before → after."""
    from app.commands.access import open_cli_store

    after, commit = parse_since(since) if since is not None else (None, None)
    try:
        store = open_cli_store(config_path)
    except (FlagdeckError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        env = env or store.config.default_environment
        found = store.changes(env, limit=limit, since=commit, after=after, namespace=namespace, flag=flag)
    except FlagdeckError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    if as_json:
        import orjson

        click.echo(orjson.dumps([c.model_dump(mode="json") for c in found], option=orjson.OPT_INDENT_2).decode())
        return
    if not found:
        click.echo(f"no changes in {env}" + (f" since {since}" if since else ""))
        return
    click.echo("\n\n".join("\n".join(change_set_lines(c)) for c in found))
