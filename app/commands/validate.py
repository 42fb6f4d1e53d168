"""`flagdeck validate DIR`: check every `*/features.yaml|yml|json` one level below DIR, as `flipt validate` does.

Exit 0 when every file is valid (warnings are printed but do not fail), 1 with one line per problem
`FILE:LINE: PATH: message`, 2 on usage errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:  # the parsers, pygit2 and the store are imported when a command runs, not for its --help
    from gitstore.errors import Problem
    from gitstore.git.snapshot import Holder


def feature_files(root: Path) -> list[Path]:
    """Flipt's discovery: `*/features.{yaml,yml,json}` exactly one directory below the root."""
    from gitstore.git.snapshot import FEATURE_FILES

    found: list[Path] = []
    for child in sorted(root.iterdir()):
        if child.is_dir():
            found.extend(child / name for name in FEATURE_FILES if (child / name).is_file())
    return found


def directory_holders(root: Path, extended: bool = False) -> tuple[dict[str, list[Holder]], list[Problem]]:
    """namespace -> the files below `root` holding it (the store's rule, `gitstore.git.snapshot`), and every problem
    of every file (errors and warnings), files in sorted order, named as `root/<dir>/features.yaml`."""
    from gitstore.format.limits import size_problem
    from gitstore.git.snapshot import Holder, oversized, parse_file

    problems: list[Problem] = []
    holders: dict[str, list[Holder]] = {}
    for file in feature_files(root):
        name = str(file)
        try:
            too_big = size_problem(file.stat().st_size)
            parsed = oversized(name, too_big) if too_big else parse_file(file.read_bytes(), name, extended)
        except OSError as exc:
            parsed = oversized(name, f"cannot read: {exc.strerror or exc}")
        problems.extend(parsed.problems)
        for key in parsed.holds(file.parent.name):
            holders.setdefault(key, []).append(Holder(name, file.parent.name, None, parsed))
    return holders, problems


def validate_directory(path: str | Path, extended: bool = False) -> list[Problem]:
    """Every problem of every feature file below `path` (`directory_holders`), plus an error in each file when
    two files claim one namespace, naming both."""
    from gitstore.git.snapshot import claim_problems

    holders, problems = directory_holders(Path(path), extended)
    for key, found in holders.items():
        if len(found) > 1:
            problems.extend(claim_problems(key, tuple(found)))
    return problems


def exit_with_problems(problems: list[Problem] | tuple[Problem, ...], note: str = "") -> NoReturn:
    """Print each error as `FILE:LINE: PATH: message` on standard error (then `note`, if any) and exit 1."""
    for problem in problems:
        if problem.severity == "error":
            click.echo(format_problem(problem), err=True)
    if note:
        click.echo(note, err=True)
    sys.exit(1)


def format_problem(problem: Problem) -> str:
    """`FILE:LINE: PATH: message` (warnings say so after the path)."""
    message = problem.message if problem.severity == "error" else f"warning: {problem.message}"
    where = f"{problem.file}:{problem.line}"
    return f"{where}: {problem.path}: {message}" if problem.path else f"{where}: {message}"


def validate_environment(config: Path | None, env: str | None, extended: bool = False) -> tuple[int, list[Problem]]:
    """Every problem of every namespace of an environment at its branch tip: (files read, problems). `extended`
    applies Flipt's extended rules to the namespaces that are otherwise valid."""
    from app.commands.offline import read_snapshot
    from gitstore.format.loader import load_document

    snapshot = read_snapshot(config, env)
    problems = list(snapshot.problems)
    for namespace in snapshot.namespaces.values():
        found = namespace.problems
        if extended and namespace.valid:
            found = tuple(load_document(namespace.text, namespace.path, extended=True).problems)
        problems.extend(p for p in found if p not in problems)
    return len(snapshot.files), problems


@click.command(name="validate")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
@click.option("--env", help="Validate this environment's branch (from the configuration) instead of DIRECTORY.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml); with --env.")
@click.option("--extended", "-e", is_flag=True, help="Also apply Flipt's extended rules (flags need a description).")
def command(directory: Path | None, env: str | None, config: Path | None, extended: bool) -> None:
    """Validate the Flipt feature files one level below DIRECTORY, or an environment's branch (--env)."""
    if directory is not None and (env or config):
        raise click.UsageError("give DIRECTORY or --env/--config, not both")
    if directory is None:
        if not (env or config):
            raise click.UsageError("give DIRECTORY, or --env (and --config) to validate an environment's branch")
        from gitstore.errors import FlagdeckError

        try:
            count, problems = validate_environment(config, env, extended)
        except FlagdeckError as exc:
            raise click.UsageError(str(exc)) from None
        _report(count, problems)
        return
    try:
        files = feature_files(directory)
    except OSError as exc:
        raise click.UsageError(f"cannot read {directory}: {exc.strerror or exc}") from None
    if not files:
        click.echo(f"no */features.yaml, */features.yml or */features.json below {directory}", err=True)
        return
    _report(len(files), validate_directory(directory, extended))


def _report(files: int, problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        click.echo(format_problem(problem))
    warnings = len(problems) - len(errors)
    click.echo(f"{files} file(s): {len(errors)} error(s), {warnings} warning(s)", err=True)
    if errors:
        sys.exit(1)
