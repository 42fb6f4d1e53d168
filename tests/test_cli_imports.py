"""`flagdeck --help` and `flagdeck <command> --help` import only what they need (issue 18): checked on the modules
a fresh process has loaded, never on time. The command list `flagdeck --help` prints from `app.cli.COMMANDS` must
read exactly as click prints it from the commands themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from app.cli import COMMANDS, load_command, main

ROOT = Path(__file__).resolve().parent.parent
# what no help screen may pull in: the console, the server, the engine's compiler, Git and the YAML loader
HEAVY = ("textual", "aiohttp", "evaluator.engine.compiler", "evaluator.server.app", "asyncssh", "pygit2",
         "gitstore.store", "gitstore.format.loader", "prometheus_client", "jwt")

PROBE = """
import json, sys
from app.cli import main
try:
    main(sys.argv[1:], prog_name="flagdeck")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "heavy": [m for m in %r if m in sys.modules]}), file=sys.stderr)
"""


def help_imports(*args: str) -> tuple[str, dict[str, object]]:
    done = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), *args, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def test_top_level_help_imports_no_command() -> None:
    out, seen = help_imports()
    assert seen == {"code": 0, "heavy": []}
    for name in COMMANDS:
        assert f"\n  {name} " in out, out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help_imports_only_the_command(name: str) -> None:
    out, seen = help_imports(name)
    assert seen == {"code": 0, "heavy": []}
    assert f"Usage: flagdeck {name} " in out, out


def test_detector_sees_a_heavy_import() -> None:
    """The probe itself: a module the command does import is reported."""
    done = subprocess.run([sys.executable, "-c", "import aiohttp\n" + PROBE % (HEAVY,), "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert json.loads(done.stderr.strip().splitlines()[-1])["heavy"] == ["aiohttp"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert COMMANDS[name][1] == command.get_short_help_str(limit=10_000)


@pytest.mark.parametrize("width", [60, 80, 140])
def test_help_reads_as_click_prints_it(width: int) -> None:
    """The lazy listing, byte for byte what a plain click group holding every command prints."""
    plain = click.Group(name="main", help=main.help, params=main.params,
                        context_settings=main.context_settings,
                        commands={name: load_command(name) for name in COMMANDS})
    runner = CliRunner()
    lazy = runner.invoke(main, ["--help"], prog_name="flagdeck", terminal_width=width)
    eager = runner.invoke(plain, ["--help"], prog_name="flagdeck", terminal_width=width)
    assert lazy.exit_code == eager.exit_code == 0
    assert lazy.output == eager.output


# what reading an environment must not pull in: the writer, history, the watcher, asyncio, and (but for eval) the
# engine; never the server or the console
READ_ONLY = ("textual", "aiohttp", "evaluator.server.app", "asyncssh", "asyncio", "gitstore.edit.writer",
             "gitstore.git.history", "gitstore.git.watch", "gitstore.git.replay", "gitstore.git.tree_edits",
             "gitstore.model.revert", "evaluator.engine.compiler")


@pytest.mark.parametrize("args", [["validate"], ["eval", "-n", "default", "-e", "u1"],
                                  ["export", "--format", "json", "-o", "out.json"]], ids=["validate", "eval", "export"])
def test_reading_an_environment_imports_no_writer(tmp_path: Path, args: list[str]) -> None:
    """`flagdeck validate --env` and `flagdeck eval` (the commands CI gates and hooks run fifty times a day) do
    not import what only writing, watching or serving needs (issue 18: imports were most of a 1,000-flag run)."""
    from gitstore.demo import init_demo

    config = init_demo(tmp_path / "demo")
    args = [str(tmp_path / arg) if arg == "out.json" else arg for arg in args]
    done = subprocess.run([sys.executable, "-c", PROBE % (READ_ONLY,), *args, "--config", str(config), "--env",
                           "staging"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    expected = ["evaluator.engine.compiler"] if args[0] != "validate" else []  # (the snapshot compiles segments)
    assert seen == {"code": 0, "heavy": expected}, done.stderr


# what `flagdeck validate` never needs, on any repository: it checks plain data and builds no document, so neither
# the pydantic document models nor the code that builds or writes them (issue 18: at 1,000 flags the run was its
# imports); nor the engine
NOT_FOR_VALIDATE = READ_ONLY + ("gitstore.model.documents", "gitstore.format.models", "gitstore.model.changes",
                                "evaluator.engine", "evaluator.client_snapshot")


@pytest.mark.parametrize("extended", [False, True], ids=["plain", "extended"])
def test_validate_imports_no_document_model(tmp_path: Path, extended: bool) -> None:
    """`flagdeck validate --env` on the demo (every flag shape the demo has: variants, booleans, rollouts, rules
    with several segments, attachments) and with a file that has errors and warnings: no model module is loaded,
    and the findings still name file, line and field."""
    from gitstore.demo import init_demo
    from tests.documents.test_validate_env import commit_file

    config = init_demo(tmp_path / "demo")
    bad = b"version: '1.6'\nnamespace: broken\nflags:\n  - key: a\n    name: A\n    type: NOT_A_TYPE\n"
    commit_file(config.parent / "repo", "staging/broken/features.yaml", bad)
    args = ["validate", "--config", str(config), "--env", "staging", *(["--extended"] if extended else [])]
    done = subprocess.run([sys.executable, "-c", PROBE % (NOT_FOR_VALIDATE,), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert seen == {"code": 1, "heavy": []}, done.stderr
    assert "staging/broken/features.yaml:6: flags[0].type: " in done.stdout, done.stdout


def test_one_shot_commands_are_commands() -> None:
    """The commands run with the cyclic collector off (`app.cli.ONE_SHOT`) exist; the servers and the console,
    which run for days, are not among them."""
    from app.cli import ONE_SHOT

    assert ONE_SHOT <= set(COMMANDS)
    assert not ONE_SHOT & {"serve", "console", "ssh-server"}


BUILT = """
import json, sys
from app.cli import main
try:
    main(sys.argv[1:], prog_name="flagdeck")
except SystemExit as exc:
    code = exc.code
from pydantic import BaseModel

def every(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from every(sub)

built = sorted({f"{c.__module__}.{c.__qualname__}" for c in every(BaseModel)
                if c.__module__.split(".")[0] in ("app", "evaluator", "gitstore") and c.__pydantic_complete__})
print(json.dumps({"code": code, "built": built}), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["validate"], ["eval", "-n", "default", "-e", "u1"],
                                  ["export", "--format", "json", "-o", "out.json"]], ids=["validate", "eval", "export"])
def test_reading_an_environment_builds_no_validator(tmp_path: Path, args: list[str]) -> None:
    """Once flagdeck.yaml is in the cache of validated configurations, validate, eval and export build no pydantic
    validator: the configuration is read from the cache and documents are built from checked data (issue 18: making
    the validators was a tenth of a 1,000-flag run). The first run validates the configuration, and only it."""
    from gitstore.demo import init_demo

    config = init_demo(tmp_path / "demo")
    args = [str(tmp_path / arg) if arg == "out.json" else arg for arg in args]
    runs = [json.loads(subprocess.run([sys.executable, "-c", BUILT, *args, "--config", str(config), "--env",
                                       "staging"], cwd=ROOT, capture_output=True, text=True, timeout=60
                                      ).stderr.strip().splitlines()[-1]) for _ in range(2)]
    assert runs[0]["code"] == runs[1]["code"] == 0
    assert "app.settings.FlagdeckConfig" in runs[0]["built"]
    assert runs[1]["built"] == []


def test_a_one_shot_command_run_in_process_gives_the_collector_back(tmp_path: Path) -> None:
    """The collector is off while a one-shot command runs and on again once it is done: run in-process (CliRunner,
    a test), the caller keeps its collector (a worker of this suite otherwise ran every later test without it).
    In a fresh interpreter: here other tests' threads may pause the collector at any moment."""
    from gitstore.demo import init_demo

    config = init_demo(tmp_path / "demo")
    script = ("import gc, sys\nfrom click.testing import CliRunner\nfrom app.cli import main\nseen = []\n"
              "import app.commands.validate as v\nrun = v.command.callback\n"
              "v.command.callback = lambda *a, **k: (seen.append(gc.isenabled()), run(*a, **k))[1]\n"
              "result = CliRunner().invoke(main, sys.argv[1:])\n"
              "print(result.exit_code, seen, gc.isenabled())\n")
    done = subprocess.run([sys.executable, "-c", script, "validate", "--config", str(config), "--env", "staging"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["0", "[False]", "True"], done.stdout + done.stderr
