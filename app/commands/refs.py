"""`flagdeck refs PATH`: where each flag key of an environment (or only the stale ones) appears in a source tree,
as `FILE:LINE: KEY: the line`, respecting `.gitignore` and skipping binary files (`app/insight/refs.py`).

    flagdeck refs ./src --env production
    flagdeck refs ./src --env production --stale --json

Exit 0 (whether or not anything was found), 2 on usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.commands.lifecycle_options import days_option, now_option, parse_now


def _flags(config: Path | None, env: str | None, namespace: str | None) -> dict[str, list[str]]:
    """key -> the namespaces holding a flag with that key."""
    from app.commands.offline import read_snapshot

    snapshot = read_snapshot(config, env)
    if namespace is not None and namespace not in snapshot.namespaces:
        raise click.UsageError(f"environment {snapshot.environment!r} has no namespace {namespace!r}")
    out: dict[str, list[str]] = {}
    for key, ns in sorted(snapshot.namespaces.items()):
        doc = ns.document
        if doc is not None and (namespace is None or key == namespace):
            for flag in doc.flags:
                out.setdefault(flag.key, []).append(key)
    return out


@click.command(name="refs")
@click.argument("path", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
@click.option("--env", default=None, help="Environment whose flags are looked for (default: the configured one).")
@click.option("--namespace", default=None, help="Only this namespace's flags (default: all).")
@click.option("--stale", "only_stale", is_flag=True, help="Only the stale flags (as `flagdeck stale` finds them).")
@days_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object: each flag with its references.")
@now_option
def command(path: Path, config_path: Path | None, env: str | None, namespace: str | None, only_stale: bool,
            days: int | None, as_json: bool, now_text: str | None) -> None:
    """Show where each flag key (or only the stale ones) appears in the source tree PATH (respects .gitignore)."""
    from app.insight.refs import RefsError, find_refs
    from gitstore.errors import FlagdeckError

    try:
        if only_stale:
            from app.commands.stale import scan

            result = scan(config_path, env, namespace, days, parse_now(now_text))
            flags: dict[str, list[str]] = {}
            for judged in result.stale():
                flags.setdefault(judged.flag.key, []).append(judged.namespace)
        else:
            flags = _flags(config_path, env, namespace)
        search = find_refs(path, flags)
    except (FlagdeckError, RefsError, OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    by_key: dict[str, list[dict[str, object]]] = {key: [] for key in flags}
    for ref in search.refs:
        by_key[ref.key].append({"path": ref.path, "line": ref.line, "text": ref.text})
    if as_json:
        items = [{"flag": key, "namespaces": flags[key], "references": by_key[key]} for key in sorted(flags)]
        click.echo(json.dumps({"root": str(path), "files": search.files, "skipped": search.skipped,
                               "flags": items}, indent=2))
        return
    for ref in search.refs:
        click.echo(f"{ref.path}:{ref.line}: {ref.key}: {ref.text}")
    unused = sorted(key for key, refs in by_key.items() if not refs)
    found = len(flags) - len(unused)
    what = "stale flag(s)" if only_stale else "flag(s)"
    click.echo(f"{len(search.refs)} reference(s) to {found} of {len(flags)} {what} in {search.files} file(s)"
               + (f"; {len(search.skipped)} binary or huge file(s) skipped" if search.skipped else ""), err=True)
    if unused:
        shown = ", ".join(unused[:20]) + (f" and {len(unused) - 20} more" if len(unused) > 20 else "")
        click.echo(f"not referenced: {shown}", err=True)
