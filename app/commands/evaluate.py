"""`flagdeck eval`: evaluate one flag (or every flag) of a namespace for an entity, from a directory of feature
files or from an environment's Git branch, optionally with the explain trace.

    flagdeck eval --dir flags --namespace default new-checkout --entity user-1 --context plan=pro --explain
    flagdeck eval --config flagdeck.yaml --env staging color-theme --entity user-1 --json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the engine and the store are imported when the command runs, not for its --help
    from evaluator.engine import BooleanResult, VariantResult
    from gitstore.errors import Problem
    from gitstore.model.documents import Document

# (the document, its file, and for one flag asked for: a document holding only that flag and every segment, with
# the flag's place in the whole namespace, so that its warnings read as the whole namespace's would)
Namespace = tuple["Document", str, "dict[str, int] | None"]


def _parse_context(pairs: tuple[str, ...]) -> dict[str, str]:
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        context[key] = value
    return context


def _fail(lines: list[str]) -> click.ClickException:
    return click.ClickException("\n".join(lines))


def document_from_dir(directory: Path, namespace: str, flag: str | None = None) -> Namespace:
    """The namespace from the feature files one level below `directory`, by the store's rule for which file holds
    a namespace (flipt-compatibility §3.1); invalid: its problems as `FILE:LINE: PATH: message`, exit 1. `flag`:
    only that flag is built (see `Namespace`)."""
    from app.commands.validate import directory_holders, exit_with_problems
    from gitstore.git.snapshot import claim_problems

    holders, _ = directory_holders(directory)
    found = holders.get(namespace)
    if not found:
        known = ", ".join(sorted(holders)) or "none"
        raise _fail([f"{directory}: no feature file holds namespace {namespace!r} (found: {known})"])
    if len(found) > 1:
        exit_with_problems(claim_problems(namespace, tuple(found)))
    parsed = found[0].parsed
    if parsed.source is None or namespace not in parsed.source:
        exit_with_problems(parsed.problems)
    if flag is None:
        return parsed.source[namespace], found[0].path, None
    document, places = parsed.source.partial(namespace, (flag,))
    return document, found[0].path, places


def document_from_store(config: Path | None, env: str | None, namespace: str, flag: str | None = None
                        ) -> Namespace:
    """The namespace as of the environment's branch tip (`--config`/`--env`)."""
    from app.commands.offline import read_snapshot
    from app.commands.validate import exit_with_problems
    from gitstore.errors import FlagdeckError

    try:
        snap = read_snapshot(config, env)
    except FlagdeckError as exc:
        raise _fail([str(exc)]) from None
    ns = snap.namespaces.get(namespace)
    if ns is None:
        raise _fail([f"namespace {namespace!r} not found in environment {snap.environment} "
                     f"(found: {', '.join(snap.namespaces)})"])
    found = ns.partial((flag,)) if flag is not None else (ns.document, None)
    if found is None or found[0] is None:
        exit_with_problems(ns.problems)
    return found[0], ns.path, found[1]


def result_data(result: VariantResult | BooleanResult) -> dict[str, Any]:
    """The result in `/evaluate/v1`'s field names (without request id, timestamp and duration)."""
    from evaluator.engine import BooleanResult

    if isinstance(result, BooleanResult):
        return {"flagKey": result.flag_key, "enabled": result.enabled, "reason": result.reason.value,
                "segmentKeys": result.segment_keys}
    return {"flagKey": result.flag_key, "match": result.match, "reason": result.reason.value,
            "variantKey": result.variant_key, "variantAttachment": result.variant_attachment,
            "segmentKeys": result.segment_keys}


def result_line(result: VariantResult | BooleanResult) -> str:
    from evaluator.engine import BooleanResult

    if isinstance(result, BooleanResult):
        value = "true" if result.enabled else "false"
    else:
        value = f"variant {result.variant_key}" if result.variant_key else "no variant"
    extra = f", segments {', '.join(result.segment_keys)}" if result.segment_keys else ""
    return f"{result.flag_key}: {value} ({result.reason.value}{extra})"


def _warn(warnings: list[Problem]) -> None:
    for problem in warnings:
        click.echo(f"warning: {problem}", err=True)


@click.command("eval")
@click.argument("flag", required=False)
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="A directory of <namespace>/features.yaml files (instead of an environment).")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml); used without --dir.")
@click.option("--env", "env", default=None, help="Environment (default: the configured default); without --dir.")
@click.option("--namespace", "-n", "namespace", default="default", show_default=True)
@click.option("--entity", "-e", "entity", required=True, help="The entity id.")
@click.option("--context", "-c", "pairs", multiple=True, metavar="KEY=VALUE", help="A context property (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per flag).")
@click.option("--explain", is_flag=True, help="Show why: each rule, segment, constraint, bucket and the reason.")
def command(flag: str | None, directory: Path | None, config: Path | None, env: str | None, namespace: str,
            entity: str, pairs: tuple[str, ...], as_json: bool, explain: bool) -> None:
    """Evaluate FLAG (or every flag of the namespace) for an entity, as Flipt's server would."""
    import orjson

    from evaluator.engine import EvaluationError, Trace, compile_namespace, evaluate

    context = _parse_context(pairs)
    if directory is not None:
        if config is not None or env is not None:
            raise click.UsageError("--dir cannot be combined with --config or --env")
        document, source, places = document_from_dir(directory, namespace, flag)
    else:
        document, source, places = document_from_store(config, env, namespace, flag)
    compiled = compile_namespace(document, source, only=flag, places=places)  # one flag: no other is built
    _warn(compiled.warnings)
    keys = [flag] if flag is not None else compiled.flag_keys
    for key in keys:
        trace = Trace() if explain else None
        try:
            result = evaluate(compiled, key, entity, context, trace=trace)
        except EvaluationError as exc:
            raise click.ClickException(exc.message) from None
        if as_json:
            data = result_data(result)
            if trace is not None:
                data["explain"] = trace.render()
            sys.stdout.buffer.write(orjson.dumps(data) + b"\n")
            continue
        if trace is not None:
            click.echo("\n".join(trace.render()))
            if len(keys) > 1:
                click.echo("")
        else:
            click.echo(result_line(result))
    sys.stdout.flush()
