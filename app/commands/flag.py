"""`flagdeck flag set|create|delete`: one flag written in one commit from a script or a runbook, with the same
validation, roles and protection as the console (`gitstore.automation.writes`). Exit status: 0 committed (or
already so), 1 refused (one line: role, protection, unknown flag, invalid value, conflict), 2 usage."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.writing import (
    bool_choice,
    env_option,
    namespace_option,
    parse_bool,
    parse_rollouts,
    report,
    stacked,
    writer_options,
    writing,
)

threshold_option = click.option("--threshold", "threshold", type=click.FloatRange(0, 100), default=None,
                                metavar="PCT", help="Boolean flags: the threshold rollout's percentage.")
rollout_option = click.option("--rollout", "rollouts", multiple=True, metavar="VARIANT=PCT",
                              help="Variant flags: the rule's distribution (repeatable; variants not named get 0).")
rule_option = click.option("--rule", "rule", type=click.IntRange(1), default=None, metavar="N",
                           help="Which rule --rollout sets (default: the flag's only rule).")
enabled_option = click.option("--enabled", "enabled", type=bool_choice, default=None, help="Turn the flag on or off.")
patch_options = stacked(enabled_option, threshold_option, rollout_option, rule_option)  # what `set` and `schedule` change


def patch_of(enabled: str | None, threshold: float | None, rollouts: tuple[str, ...], rule: int | None):  # noqa: ANN201
    """The `FlagPatch` the options ask for; a usage error when they ask for nothing."""
    from gitstore.automation.patch import FlagPatch

    patch = FlagPatch(enabled=parse_bool(enabled), threshold=threshold, distribution=parse_rollouts(rollouts),
                      rule=rule)
    if patch.empty():
        raise click.UsageError("nothing to set: give --enabled, --threshold or --rollout")
    return patch


@click.group("flag")
def group() -> None:
    """Change one flag from a script: set, create, delete (one commit each)."""


@group.command("set")
@click.argument("key")
@env_option
@namespace_option
@patch_options
@writer_options
def set_(key: str, env: str | None, namespace: str, enabled: str | None, threshold: float | None,
         rollouts: tuple[str, ...], rule: int | None, user: str | None, reason: str | None, as_json: bool,
         config_path: Path | None) -> None:
    """Set a flag's enabled state, threshold or rollout, as one commit."""
    from gitstore.automation.writes import set_flag

    patch = patch_of(enabled, threshold, rollouts, rule)
    with writing(config_path, user, env, reason) as (store, name, author):
        result = set_flag(store, name, namespace, key, patch, author)
        report(store, name, result, f"set {namespace}/{key} {patch.describe()}", as_json, namespace=namespace,
               flag=key, set=patch.model_dump(exclude_none=True))


@group.command("create")
@click.argument("key")
@env_option
@namespace_option
@click.option("--name", "name", default=None, help="Display name (default: the key).")
@click.option("--description", "description", default=None, help="Description.")
@click.option("--boolean/--variant", "boolean", default=True, show_default=True, help="The flag's type.")
@click.option("--variants", "variants", default="", metavar="KEY,KEY", help="Variant flags: the variants' keys.")
@enabled_option
@writer_options
def create(key: str, env: str | None, namespace: str, name: str | None, description: str | None, boolean: bool,
           variants: str, enabled: str | None, user: str | None, reason: str | None, as_json: bool,
           config_path: Path | None) -> None:
    """Create a flag (off unless --enabled true), as one commit."""
    from pydantic import ValidationError

    from gitstore.automation.writes import create_flag, new_flag

    keys = tuple(v.strip() for v in variants.split(",") if v.strip())
    if boolean and keys:
        raise click.UsageError("--variants is for variant flags (add --variant)")
    try:
        flag = new_flag(key, name, boolean, bool(parse_bool(enabled)), description, keys)
    except ValidationError as exc:
        raise click.UsageError(str(exc.errors()[0]["msg"])) from None
    with writing(config_path, user, env, reason) as (store, env_name, author):
        result = create_flag(store, env_name, namespace, flag, author)
        report(store, env_name, result, f"created {namespace}/{key}", as_json, namespace=namespace, flag=key)


@group.command("delete")
@click.argument("key")
@env_option
@namespace_option
@writer_options
def delete(key: str, env: str | None, namespace: str, user: str | None, reason: str | None, as_json: bool,
           config_path: Path | None) -> None:
    """Delete a flag, as one commit."""
    from gitstore.automation.writes import delete_flag

    with writing(config_path, user, env, reason) as (store, name, author):
        result = delete_flag(store, name, namespace, key, author)
        report(store, name, result, f"deleted {namespace}/{key}", as_json, namespace=namespace, flag=key)
