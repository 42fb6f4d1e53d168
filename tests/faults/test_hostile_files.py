"""Hostile namespace files (issue 11 #3): huge numbers, deep nesting, huge strings and files, NUL bytes,
billion-laughs, odd encodings, duplicate keys, tabs, control characters, the same in JSON (`hostile_corpus`).

Each file, put in one namespace of a real repository beside good namespaces, makes only that namespace invalid,
with an error naming the file and the line: in `flagdeck validate/eval/export` (one `FILE:LINE: PATH: message` line,
exit 1, no traceback), in a real `flagdeck serve` (`/health`, also after a restart, while the other namespaces and
a commit to one of them are served) and in the console. Loading each file stays within a bounded time and memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from gitstore.config import load_config
from gitstore.format.loader import load_document
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType
from gitstore.store import Store

from .files_tools import AUTHOR, ROOT, Serve, commit_files, make_repository, wait_for
from .hostile_corpus import CASES, Case, good

GOOD = ("alpha", "beta")
IDS = [case.name for case in CASES]


def _repository(root: Path, cases: list[Case], hostile: bool = True) -> Path:
    files = {f"{name}/features.yaml": good(name) for name in GOOD}
    files |= {case.filename: good(case.name, case.ext) for case in cases}
    config = make_repository(root, files)
    if hostile:
        commit_files(config, {case.filename: case.data for case in cases}, "hostile versions")
    return config


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _where(case: Case) -> str:
    return f"{case.filename}:{case.line}: "


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loading_names_file_and_line_in_bounded_time_and_memory(case: Case) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = load_document(case.data, case.filename)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    errors = [p for p in result.errors]
    assert result.document is None and errors
    assert (errors[0].file, errors[0].line) == (case.filename, case.line), errors[0]
    assert case.message in errors[0].message
    assert "\x00" not in str(errors[0]) and "\x1b" not in str(errors[0])  # the message is safe to print
    assert elapsed < 5, f"{elapsed:.1f} s"  # a guard against runaway work, not a speed test (see bench/)
    assert peak < 48 * 1024 * 1024, f"{peak / 1e6:.0f} MB"  # the file's own bytes are not counted


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_commands_report_only_the_hostile_namespace(case: Case, tmp_path: Path) -> None:
    config = _repository(tmp_path, [case])
    env = ["--config", str(config), "--env", "production"]
    code, out, _ = _cli("validate", *env)
    lines = [line for line in out.splitlines() if "warning:" not in line]
    assert code == 1 and lines and all(line.startswith(f"{case.filename}:") for line in lines), out
    assert lines[0].startswith(_where(case))
    code, out, err = _cli("eval", *env, "-n", case.name, "probe", "-e", "u")
    assert (code, out) == (1, "") and err.splitlines()[0].startswith(_where(case)), err
    code, out, err = _cli("export", *env, "--namespace", case.name)
    assert (code, out) == (1, "") and err.splitlines()[0].startswith(_where(case)), err
    assert err.splitlines()[-1] == f"invalid namespace '{case.name}': nothing exported"
    for name in GOOD:  # the others are untouched
        assert _cli("eval", *env, "-n", name, "probe", "-e", "u")[:2] == (
            0, "probe: true (DEFAULT_EVALUATION_REASON)\n")
        code, out, _ = _cli("export", *env, "--namespace", name)
        assert code == 0 and f"namespace: {name}" in out
    # the same files in a directory (`flagdeck validate DIR`, `flagdeck eval --dir`)
    (tmp_path / "dir" / case.name).mkdir(parents=True)
    (tmp_path / "dir" / case.filename).write_bytes(case.data)
    for name in GOOD:
        (tmp_path / "dir" / name).mkdir()
        (tmp_path / "dir" / name / "features.yaml").write_bytes(good(name))
    code, out, _ = _cli("validate", str(tmp_path / "dir"))
    assert code == 1 and out.startswith(f"{tmp_path / 'dir' / case.filename}:{case.line}: "), out
    code, _, err = _cli("eval", "--dir", str(tmp_path / "dir"), "-n", case.name, "probe", "-e", "u")
    assert code == 1 and err.startswith(f"{tmp_path / 'dir' / case.filename}:{case.line}: "), err


def test_a_served_environment_keeps_serving_around_every_hostile_file(tmp_path: Path) -> None:
    config = _repository(tmp_path, CASES, hostile=False)
    server = Serve(config)
    try:
        assert all(server.probe(case.name) == (200, True) for case in CASES)
        commit_files(config, {case.filename: case.data for case in CASES}, "hostile versions")
        wait_for(lambda: all(server.namespaces().get(c.name, {}).get("error") for c in CASES), 20,
                 "every hostile namespace to be reported")
        _check_health(server, CASES, served_last_good=True)
        _commit_and_see_it_served(config, server)
        output = server.stop()
        assert "Traceback" not in output
        server = Serve(config)  # after a restart there is no last good version: 404, and the error in /health
        _check_health(server, CASES, served_last_good=False)
        _commit_and_see_it_served(config, server, enabled=True)
    finally:
        output = server.stop()
    assert "Traceback" not in output


def _check_health(server: Serve, cases: list[Case], served_last_good: bool) -> None:
    assert server.health_status() == 200
    namespaces = server.namespaces()
    for case in cases:
        error = namespaces[case.name]["error"]
        assert error.startswith(_where(case)) and case.message in error, (case.name, error)
        assert server.probe(case.name) == ((200, True) if served_last_good else (404, None))
    for name in GOOD:
        assert namespaces[name]["error"] is None
        assert server.probe(name)[0] == 200


def _commit_and_see_it_served(config: Path, server: Serve, enabled: bool = False) -> None:
    flag = Flag(key="probe", name="Probe", type=FlagType.BOOLEAN, enabled=enabled)
    with Store(load_config(config)) as store:  # the read-back must not mind the hostile namespaces
        store.commit("production", [Change("alpha", Kind.FLAG, "probe", flag)], AUTHOR)
    wait_for(lambda: server.probe("alpha") == (200, enabled), 10, "the commit to alpha to be served")
    assert server.probe("beta") == (200, True)


def test_the_commands_as_processes_print_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    config = _repository(tmp_path, CASES)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "app.cli", "validate", "--config", str(config)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    errors = [line for line in done.stdout.splitlines() if "warning:" not in line]
    assert [line.split(": ", 1)[0] for line in errors] == [f"{c.filename}:{c.line}" for c in
                                                           sorted(CASES, key=lambda c: c.filename)]
    for command in (["export"], ["eval", "-n", "huge-percentage", "-e", "u"]):
        done = subprocess.run([sys.executable, "-m", "app.cli", *command, "--config", str(config)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "Traceback" not in done.stderr and done.stdout == ""
        assert all(": " in line for line in done.stderr.splitlines())


async def test_the_console_shows_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAGDECK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    from app.console import ConsoleApp
    from app.session import Session

    case = next(c for c in CASES if c.name == "huge-percentage")
    config = _repository(tmp_path, [case])
    with Store(load_config(config), identity=AUTHOR) as store:
        session = Session(store, env="production", namespace=case.name, author=(AUTHOR.name, AUTHOR.email))
        app = ConsoleApp(session, theme="textual-dark", cursor_blink=False)
        async with app.run_test(size=(160, 40)) as pilot:
            for _ in range(20):
                await pilot.pause(0.05)
                panel = app.screen.query("#problems")
                if panel and _where(case) in str(panel.first().render()):
                    break
            text = str(app.screen.query_one("#problems").render())
            assert f"✗ {_where(case)}flags[0].rollouts[0].threshold.percentage: integer out of range" in text
