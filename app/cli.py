"""The `flagdeck` command line. Each subcommand lives in `app/commands/<name>.py` and is imported only when used,
so `flagdeck console` does not pay for aiohttp and `flagdeck serve` never imports Textual."""

from __future__ import annotations

import importlib

import click

# command name -> module under app.commands holding a click command named `command`
COMMANDS: dict[str, str] = {
    "init": "init",
    "doctor": "doctor",
    "validate": "validate",
    "eval": "evaluate",
    "export": "export",
    "revert": "revert",
    "serve": "serve",
    "console": "console",
    "ssh-server": "ssh_server",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        return importlib.import_module(f"app.commands.{module}").command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flagdeck")
def main() -> None:
    """Flagdeck: Git-native feature flags that Flipt's SDKs understand."""


if __name__ == "__main__":
    main()
