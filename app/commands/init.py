"""`flagdeck init [DIR]`: write flagdeck.yaml and a Git repository holding a demo namespace in two environments."""

from __future__ import annotations

from pathlib import Path

import click

from gitstore.errors import FlagdeckError


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--force", is_flag=True, help="Overwrite an existing flagdeck.yaml and demo repository.")
def command(directory: Path, force: bool) -> None:
    """Create DIR/flagdeck.yaml and DIR/repo (environments production and staging) with demo flags."""
    from gitstore.demo import init_demo

    try:
        config = init_demo(directory, force=force)
    except FlagdeckError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        where = exc.filename or directory
        raise click.ClickException(f"{where}: cannot create: {exc.strerror or exc} (nothing was written)") from None
    click.echo(f"wrote {config} and the repository {config.parent / 'repo'} "
               "(environments: production [default], staging)")
    click.echo(f"next: flagdeck console --config {config}    or    flagdeck serve --config {config}")
