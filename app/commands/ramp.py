"""`flagdeck ramp start|pause|resume|abort|status`: progressive rollouts of one flag, each step a commit taken by
`flagdeck serve`'s scheduler after the ramp's guards held (`gitstore.automation.ramps`). Exit status: 0 done, 1
refused (one line), 2 usage."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

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

if TYPE_CHECKING:
    from gitstore.automation.ramps import Guard, Ramp

_QUERY = re.compile(r"^(?P<query>.+?)\s*(?P<op><=|>=|<|>)\s*(?P<value>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$", re.S)


def parse_steps(text: str) -> list[float]:
    try:
        steps = [float(s.strip().rstrip("%")) for s in text.split(",") if s.strip()]
    except ValueError:
        steps = []
    if not steps or any(not 0 <= s <= 100 for s in steps):
        raise click.BadParameter(f"{text!r}: expected percentages such as 5,25,50,100", param_hint="--steps")
    return steps


def parse_every(text: str) -> float:
    from gitstore.config import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from None


def parse_guards(prometheus: str | None, queries: tuple[str, ...], checks: tuple[str, ...]) -> tuple[Guard, ...]:
    from gitstore.automation.ramps import Guard

    if queries and not prometheus:
        raise click.UsageError("--query needs --prometheus URL (the Prometheus server to ask)")
    guards = []
    for query in queries:
        match = _QUERY.match(query.strip())
        if not match:
            raise click.BadParameter(f"{query!r}: expected a PromQL expression and a comparison, e.g. "
                                     "'sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) < 0.01'",
                                     param_hint="--query")
        guards.append(Guard(kind="prometheus", url=str(prometheus), query=match["query"], op=match["op"],  # type: ignore[arg-type]
                            threshold=float(match["value"])))
    guards += [Guard(kind="http", url=url) for url in checks]
    return tuple(guards)


@click.group("ramp")
def group() -> None:
    """Progressive rollouts: start, pause, resume, abort a ramp, and its status."""


@group.command("start")
@click.argument("key")
@click.option("--steps", "steps", required=True, metavar="PCT,PCT,...", help="The percentages, e.g. 5,25,50,100.")
@click.option("--every", "every", required=True, metavar="DURATION", help="Time between steps: 30m, 2h, 1d.")
@click.option("--variant", "variant", default=None,
              help="Variant flags: the variant whose share of the rule is ramped (the others share the rest).")
@click.option("--rule", "rule", type=click.IntRange(1), default=None, metavar="N",
              help="Variant flags: which rule (default: the only one).")
@click.option("--prometheus", "prometheus", default=None, metavar="URL",
              help="The Prometheus server the --query guards ask, e.g. http://prometheus:9090.")
@click.option("--query", "queries", multiple=True, metavar="'PROMQL OP NUMBER'",
              help="Guard (repeatable): every sample must satisfy the comparison before each step, e.g. "
                   "'job:errors:ratio5m < 0.01'.")
@click.option("--http-check", "checks", multiple=True, metavar="URL",
              help="Guard (repeatable): a GET must answer 2xx before each step.")
@env_option
@namespace_option
@writer_options
def start(key: str, steps: str, every: str, variant: str | None, rule: int | None, prometheus: str | None,
          queries: tuple[str, ...], checks: tuple[str, ...], env: str | None, namespace: str, user: str | None,
          reason: str | None, as_json: bool, config_path: Path | None) -> None:
    """Start a ramp; `flagdeck serve` takes its first step at its next round, guards first."""
    from gitstore.automation import ramps

    percentages, seconds, guards = parse_steps(steps), parse_every(every), parse_guards(prometheus, queries, checks)
    with writing(config_path, user, env, reason) as (store, name, author):
        made, result = direct_or_proposed(
            store, name, reason, "ramp", namespace, key, author,
            lambda target, proposed: ramps.start(store, target, namespace, key, percentages, seconds, guards,
                                                 variant, rule, author, proposed=proposed), as_json)
        if result is None:
            return
        if as_json:
            click.echo(json.dumps(ramp_json(name, made) | {"commit": result.commit}, indent=2))
        else:
            report(store, name, result, f"started {made.id}: {made.what()}", False)


def _control(action: str, doc: str) -> click.Command:
    @click.argument("ramp_id", metavar="ID")
    @env_option
    @writer_options
    def command(ramp_id: str, env: str | None, user: str | None, reason: str | None, as_json: bool,
                config_path: Path | None) -> None:
        from gitstore.automation import ramps

        with writing(config_path, user, None, None) as (store, _, author):
            target, _ = ramps.RAMPS.find(store, ramp_id, env)
            with glass(store, target, reason):
                made, result = getattr(ramps, action)(store, target, ramp_id, author)
            report(store, target, result, f"{made.id} {made.state.value}: {made.note}", as_json, id=made.id,
                   state=made.state.value)

    command.__doc__ = doc
    return group.command(action)(command)


pause = _control("pause", "Pause a running ramp (no step until it is resumed).")
resume = _control("resume", "Resume a paused ramp: guards, then its next step, at the next round.")
abort = _control("abort", "Abort a ramp and put the flag back as it was before it (one commit).")


@group.command("status")
@click.argument("ramp_id", metavar="[ID]", required=False)
@env_option
@json_option
@config_option
def status(ramp_id: str | None, env: str | None, as_json: bool, config_path: Path | None) -> None:
    """The ramps (or one), with their step, state, next step, guards and what happened."""
    from gitstore.automation import ramps

    with writing(config_path, None) as (store, _, _):
        found = [ramps.RAMPS.find(store, ramp_id, env)] if ramp_id else ramps.RAMPS.every(store, env)
        if as_json:
            click.echo(json.dumps([ramp_json(e, r) for e, r in found], indent=2))
            return
        if not found:
            click.echo("no ramps")
        for name, ramp in found:
            nxt = f", next step at {ramp.next_at.isoformat()}" if ramp.next_at else ""
            click.echo(f"{ramp.id}  {name}  {ramp.state.value}  {ramp.current()}{nxt}  {ramp.what()}")
            for guard in ramp.guards:
                click.echo(f"    guard: {guard.describe()}")
            if ramp_id:
                for event in ramp.events:
                    click.echo(f"    {event.at.isoformat()}  {event.text}")
            elif ramp.note:
                click.echo(f"    {ramp.note}")


def ramp_json(env: str, ramp: Ramp) -> dict[str, object]:
    return {"environment": env, **ramp.model_dump(mode="json", exclude={"before"})}
