"""`flagdeck validate DIR`: check every `*/features.yaml|yml|json` one level below DIR, as `flipt validate` does.

Exit 0 when every file is valid (warnings are printed but do not fail), 1 with one line per problem
`FILE:LINE: PATH: message`, 2 on usage errors."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitstore.errors import Problem
from gitstore.loader import load_document
from gitstore.snapshot import FEATURE_FILES


def feature_files(root: Path) -> list[Path]:
    """Flipt's discovery: `*/features.{yaml,yml,json}` exactly one directory below the root."""
    found = []
    for child in sorted(root.iterdir()):
        if child.is_dir():
            found.extend(child / name for name in FEATURE_FILES if (child / name).is_file())
    return found


def validate_directory(path: str | Path, extended: bool = False) -> list[Problem]:
    """Every problem (errors and warnings) of every feature file below `path`, files in sorted order. Problems
    name files as `path/<dir>/features.yaml`. Two files declaring the same namespace get a warning."""
    root = Path(path)
    problems: list[Problem] = []
    owners: dict[str, str] = {}
    for file in feature_files(root):
        name = str(file)
        try:
            data = file.read_bytes()
        except OSError as exc:
            problems.append(Problem(name, 0, "", f"cannot read: {exc.strerror or exc}"))
            continue
        result = load_document(data, f"{file.parent.name}/{file.name}", extended=extended)
        problems.extend(_renamed(p, name) for p in result.problems)
        for key in result.documents:
            if key in owners:
                problems.append(Problem(name, 0, "namespace", f"namespace {key!r} is also defined in "
                                        f"{owners[key]}; Flipt merges both files", "warning"))
            owners.setdefault(key, name)
    return problems


def _renamed(problem: Problem, file: str) -> Problem:
    return Problem(file, problem.line, problem.path, problem.message, problem.severity)


def format_problem(problem: Problem) -> str:
    """`FILE:LINE: PATH: message` (warnings say so after the path)."""
    message = problem.message if problem.severity == "error" else f"warning: {problem.message}"
    where = f"{problem.file}:{problem.line}"
    return f"{where}: {problem.path}: {message}" if problem.path else f"{where}: {message}"


def validate_environment(config: Path | None, env: str | None, extended: bool = False) -> tuple[int, list[Problem]]:
    """Every problem of every namespace of an environment at its branch tip: (files read, problems). `extended`
    applies Flipt's extended rules to the namespaces that are otherwise valid."""
    from app.commands.offline import read_snapshot

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
