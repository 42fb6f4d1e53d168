"""`flagdeck webhooks [--webhook NAME] [--env ENV] [--limit N] [--json]`: the webhooks of flagdeck.yaml, where each
one's delivery stands in each environment (the cursor: the last commit delivered, against the branch tip), and the
delivery log that `flagdeck serve` keeps (evaluator/events/state.py), newest first: sent, retrying (with the error
and the next attempt's time) and failed (given up after `retry.attempts`).

`flagdeck webhooks resend --webhook NAME --env ENV (EVENT_ID...|--all-failed) [--user] [--json]`: send given-up
events once more, now, with the same body and idempotency key (evaluator/events/resend.py); each attempt goes into
the delivery log. Needs editor in the environment. Exit 0 all sent (or nothing to resend), 1 one failed or a
refusal (unknown webhook, event, role), 2 usage."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.commands.writing import config_option, json_option, stacked, user_option
from gitstore.errors import FlagdeckError

writer_options_no_glass = stacked(user_option, json_option, config_option)


@click.group("webhooks", invoke_without_command=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
@click.option("--webhook", "webhook", default=None, help="Only this webhook.")
@click.option("--env", "env", default=None, help="Only this environment.")
@click.option("--limit", "limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Delivery log records shown.")
@click.option("--json", "as_json", is_flag=True, help="JSON: {webhooks: [...], deliveries: [...]}.")
@click.pass_context
def command(ctx: click.Context, config_path: Path | None, webhook: str | None, env: str | None, limit: int,
            as_json: bool) -> None:
    """Webhooks, their delivery cursors and the delivery log (sent, retrying, failed).

    `flagdeck webhooks resend` sends a given-up event again."""
    if ctx.invoked_subcommand is not None:
        return
    from app.commands.access import open_cli_store
    from app.insight.webhooks import delivery_detail, webhook_report

    try:
        store = open_cli_store(config_path)
    except (FlagdeckError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        report = webhook_report(store, webhook, env, limit)
    except FlagdeckError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    if not report.webhooks:
        click.echo("no webhooks configured (webhooks: in flagdeck.yaml)")
        return
    for hook in report.webhooks:
        click.echo(f"{hook.name}  {hook.format}  {hook.url}")
        for name in hook.environments:
            click.echo(f"  {name}: {hook.standing(name)}")
    click.echo("\ndeliveries (newest first):" if report.deliveries else "\nno deliveries yet")
    for d in report.deliveries:
        click.echo(f"  {d.time.strftime('%Y-%m-%d %H:%M:%SZ')}  {d.webhook:<12} {d.environment:<12} {d.status:<8} "
                   f"#{d.attempt}  {d.commit[:8]}  {d.subject[:40]}  {delivery_detail(d)}".rstrip())


@command.command("resend")
@click.option("--webhook", "webhook", required=True, help="The webhook (its name in flagdeck.yaml).")
@click.option("--env", "env", required=True, help="The environment the events are of.")
@click.option("--all-failed", "all_failed", is_flag=True, help="Every event of the webhook in ENV given up on.")
@click.argument("events", nargs=-1, metavar="[EVENT_ID]...")
@writer_options_no_glass
def resend_command(webhook: str, env: str, all_failed: bool, events: tuple[str, ...], user: str | None,
                   as_json: bool, config_path: Path | None) -> None:
    """Send given-up events again (same body, same Idempotency-Key), now; each attempt is logged."""
    from app.commands.writing import open_as, refusals
    from app.insight.webhooks import delivery_detail
    from evaluator.events.resend import resend_events
    from gitstore.automation.records import user_text

    if all_failed == bool(events):
        raise click.UsageError("name the events to resend (EVENT_ID, as `flagdeck webhooks` lists them) or give "
                               "--all-failed, not both")
    store, author = open_as(config_path, user)
    try:
        with refusals():
            done = resend_events(store, webhook, env, None if all_failed else list(events),
                                 user_text(author or store.identity))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([d.model_dump(mode="json") for d in done], indent=2))
    elif not done:
        click.echo(f"nothing to resend: no event of webhook {webhook} in {env} was given up")
    for d in done if not as_json else []:
        click.echo(f"{d.status:<6} {d.event}  {d.commit[:8]}  {d.subject[:50]}  {delivery_detail(d)}".rstrip())
    if any(d.status != "sent" for d in done):
        raise SystemExit(1)
