"""`flagdeck webhooks [--webhook NAME] [--env ENV] [--limit N] [--json]`: the webhooks of flagdeck.yaml, where each
one's delivery stands in each environment (the cursor: the last commit delivered, against the branch tip), and the
delivery log that `flagdeck serve` keeps (evaluator/events/state.py), newest first: sent, retrying (with the error
and the next attempt's time) and failed (given up after `retry.attempts`)."""

from __future__ import annotations

from pathlib import Path

import click

from gitstore.errors import FlagdeckError


@click.command("webhooks")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
@click.option("--webhook", "webhook", default=None, help="Only this webhook.")
@click.option("--env", "env", default=None, help="Only this environment.")
@click.option("--limit", "limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Delivery log records shown.")
@click.option("--json", "as_json", is_flag=True, help="JSON: {webhooks: [...], deliveries: [...]}.")
def command(config_path: Path | None, webhook: str | None, env: str | None, limit: int, as_json: bool) -> None:
    """Webhooks, their delivery cursors and the delivery log (sent, retrying, failed)."""
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
