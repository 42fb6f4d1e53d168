"""A lock file left by a writer that died: the error names it and what to do, `flagdeck doctor --fix` removes it,
the store removes it by itself once it is provably stale, and a lock some process holds is never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitstore.config import load_config
from gitstore.git import locks
from gitstore.git.repo import RepositoryLocked
from gitstore.store import Store

from .conftest import ALICE, put_flag, single_env_config

ROOT = Path(__file__).resolve().parents[2]


def doctor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", "doctor", "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "FLAGDECK_ROLES": ""})


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = single_env_config(tmp_path)
    with Store(load_config(config)) as store:
        store.commit("production", [put_flag("a")], ALICE)
    return config, tmp_path / "repo" / "refs" / "heads" / "main.lock"


def test_a_stale_lock_is_named_and_doctor_removes_it(setup: tuple[Path, Path]) -> None:
    config, lock = setup
    lock.write_text("0" * 40 + "\n")  # what a writer killed while committing leaves
    with Store(load_config(config)) as store:
        with pytest.raises(RepositoryLocked) as caught:
            store.commit("production", [put_flag("b")], ALICE)
        text = str(caught.value)
        assert f"refs/heads/main is locked: {lock} (" in text and "no process holds it" in text
        assert "run `flagdeck doctor --fix`" in text and "once it is 30s old" in text
        found = doctor(config)
        assert found.returncode == 1
        assert f"lock {lock}" in found.stdout and "younger than 30s" in found.stdout
        fixed = doctor(config, "--fix", "--older-than", "0")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert f"stale lock {lock}" in fixed.stdout and "[fixed]" in fixed.stdout and not lock.exists()
        assert store.commit("production", [put_flag("b")], ALICE).created
    assert doctor(config).stdout.endswith(": ok\n")


def test_the_store_removes_a_lock_left_by_a_dead_writer_by_itself(setup: tuple[Path, Path]) -> None:
    config, lock = setup
    lock.write_text("stale\n")
    age(lock, 31)
    with Store(load_config(config)) as store:
        assert store.commit("production", [put_flag("b")], ALICE).created
    assert not lock.exists()


def test_a_lock_some_process_holds_is_never_removed(setup: tuple[Path, Path]) -> None:
    config, lock = setup
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(lock)!r}, 'w'); import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 10
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        age(lock, 3600)
        with Store(load_config(config)) as store:
            with pytest.raises(RepositoryLocked, match=f"held open by process {holder.pid}"):
                store.commit("production", [put_flag("b")], ALICE)
        held = doctor(config, "--fix", "--older-than", "0")
        assert held.returncode == 1 and ": in use [not fixed]" in held.stdout and lock.exists()
    finally:
        holder.kill()
        holder.wait()
    assert locks.examine(lock, lock.parents[2]).stale(0)
    assert doctor(config, "--fix").returncode == 0 and not lock.exists()


def test_doctor_fix_needs_admin(setup: tuple[Path, Path]) -> None:
    config, _ = setup
    refused = subprocess.run([sys.executable, "-m", "app.cli", "doctor", "--config", str(config), "--fix"], cwd=ROOT,
                             capture_output=True, text=True, env={**os.environ, "FLAGDECK_ROLES": '{"*": "editor"}'})
    assert refused.returncode == 1 and "doctor --fix needs admin" in refused.stderr
