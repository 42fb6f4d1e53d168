"""The `flagdeck` command line. Each subcommand lives in `app/commands/<name>.py` and is imported only when it
runs or shows its own help: `flagdeck --help` lists the commands from the table below without importing any of
them (click would otherwise import every command, and with them aiohttp, Textual and the engine, to print one
line each), `flagdeck console` does not pay for aiohttp and `flagdeck serve` never imports Textual."""

from __future__ import annotations

import gc
import importlib

import click

# command name -> (module under app.commands holding a click command named `command`, the first sentence of
# its docstring: what `flagdeck --help` shows, shortened as click does; tests/test_cli_imports.py checks it)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init",
        "Create DIR/flagdeck.yaml and DIR/repo (environments production and staging) with demo flags."),
    "doctor": ("doctor",
        "Check the repositories for what a crash leaves behind; --fix repairs it."),
    "validate": ("validate",
        "Validate the Flipt feature files one level below DIRECTORY, or an environment's branch (--env)."),
    "eval": ("evaluate",
        "Evaluate FLAG (or every flag of the namespace) for an entity, as Flipt's server would."),
    "export": ("export",
        "Export an environment's namespaces."),
    "branch": ("branch",
        "Branch environments: create, list (--json) and delete the branches of an environment (--env)."),
    "revert": ("revert",
        "Revert COMMIT (any revision: id, short id, HEAD~2) in an environment, as a new commit."),
    "log": ("log",
        "The audit trail of an environment from Git: who changed what, when, before → after."),
    "serve": ("serve",
        "Serve every configured environment to Flipt SDKs, OpenFeature providers and HTTP clients."),
    "console": ("console",
        "Manage flags, segments and namespaces in a terminal; every change is reviewed and committed."),
    "webhooks": ("webhooks",
        "Webhooks, their delivery cursors and the delivery log (sent, retrying, failed)."),
    "ssh-server": ("ssh_server",
        "Serve the Flagdeck console over SSH (public-key authentication; one console per session)."),
    "stats": ("stats",
        "Evaluation counts of an environment's flags over a window: totals, per value served and per reason."),
    "stale": ("stale",
        "List the stale flags of an environment; exit 1 when any is stale (a CI gate), 0 when none."),
    "refs": ("refs",
        "Show where each flag key (or only the stale ones) appears in the source tree PATH (respects .gitignore)."),
    # several commands of one module: "module:attribute"
    "flag": ("flag:group",
        "Change one flag from a script: set, create, delete (one commit each)."),
    "schedule": ("schedule:schedule",
        "Schedule a change to a flag for a time; `flagdeck serve` commits it then, once."),
    "schedules": ("schedule:listing",
        "List scheduled changes by time: pending ones (--all: with what ran, was skipped, failed or was cancelled)."),
    "unschedule": ("schedule:unschedule",
        "Cancel a pending scheduled change (its record stays, cancelled)."),
    "ramp": ("ramp:group",
        "Progressive rollouts: start, pause, resume, abort a ramp, and its status."),
    "propose": ("proposal:propose",
        "Propose merging a branch environment into its environment; prints the proposal's id."),
    "proposals": ("proposal:listing",
        "List change proposals, newest last, with their state now."),
    "proposal": ("proposal:group",
        "Show one change proposal."),
    "approve": ("proposal:approve",
        "Approve a proposal (its branch's current tip) as a user other than its author."),
    "comment": ("proposal:comment",
        "Comment on a proposal (--request-changes: ask its author for changes)."),
    "merge": ("proposal:merge",
        "Merge an approved proposal: its branch's changes as one commit on the target environment."),
    "close": ("proposal:close",
        "Close a proposal without merging it (its branch stays)."),
}


def load_command(name: str) -> click.Command:
    """The click command `name` (a key of COMMANDS), importing its module."""
    module, _, attribute = COMMANDS[name][0].partition(":")
    command: click.Command = getattr(importlib.import_module(f"app.commands.{module}"), attribute or "command")
    return command


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their one-line help from COMMANDS, laid out as click does, importing none."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


# Commands that read (or write) once and exit: Python's cyclic garbage collector is off for them. A 100,000-flag
# snapshot is ~700,000 objects without cycles; each time a pause of the collector ends (`gitstore.gcpause`) the
# collector would scan all of them again (~1 s of a 100,000-flag export), to free nothing the exit would not.
ONE_SHOT = frozenset({"validate", "eval", "export", "revert", "doctor", "init", "stats", "stale", "refs", "flag", "log",
                      "branch", "propose", "proposals", "schedule", "schedules", "unschedule", "ramp"})


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flagdeck")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Flagdeck: Git-native feature flags that Flipt's SDKs understand."""
    if ctx.invoked_subcommand in ONE_SHOT and gc.isenabled():
        gc.disable()
        ctx.call_on_close(gc.enable)  # as it was once the command is done (run in-process: tests, CliRunner)


if __name__ == "__main__":
    main()
