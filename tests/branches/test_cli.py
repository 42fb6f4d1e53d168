"""`flagdeck branch create|list|delete`: a real `flagdeck` process against real repositories and a real remote;
exit 0 done, 1 refused with one line why, 2 usage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app.cli import main

from .conftest import bare, flag, open_store, refs, write_config

FLAGDECK = str(Path(sys.executable).parent / "flagdeck")


def flagdeck(config: Path, *args: str, roles: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(config.parent), "FLAGDECK_USER": "Cli User <cli@example.com>",
           "FLAGDECK_ROLES": roles}
    return subprocess.run([FLAGDECK, "branch", *args, "--config", str(config)], capture_output=True, text=True,
                          env=env, timeout=60)


def test_create_list_delete_in_two_clones(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    a, b = write_config(tmp_path / "a", origin.as_uri()), write_config(tmp_path / "b", origin.as_uri())
    done = flagdeck(a, "create", "--env", "production", "trial")
    assert done.returncode == 0, done.stderr
    with open_store(tmp_path / "a", origin.as_uri()) as store:
        tip = store.head("production")
        assert done.stdout == f"created branch trial of production (Git branch flipt/production/trial) at {tip}\n"
        store.commit("trial", [flag("new-checkout", True)])
    assert set(refs(origin)) == {"refs/heads/flipt/production/trial"}
    listed = flagdeck(b, "list", "--env", "production", "--json")  # the other clone: fetched when it opens
    assert listed.returncode == 0, listed.stderr
    with open_store(tmp_path / "b", origin.as_uri()) as store:
        head = store.head("trial")
    assert json.loads(listed.stdout) == {"branches": [{"key": "trial", "ref": "flipt/production/trial",
                                                       "environmentKey": "production", "head": head, "ahead": 1,
                                                       "behind": 0}]}
    table = flagdeck(b, "list", "--env", "production")
    assert table.stdout.splitlines() == ["KEY    REF                     ENVIRONMENT  AHEAD  BEHIND",
                                         "trial  flipt/production/trial  production   1      0"]
    assert flagdeck(b, "list", "--env", "staging").stdout == "staging has no branches\n"
    gone = flagdeck(b, "delete", "--env", "production", "trial")
    assert (gone.returncode, gone.stdout) == (0, "deleted branch trial of production\n")
    assert refs(origin) == {}
    assert json.loads(flagdeck(a, "list", "--env", "production", "--json").stdout) == {"branches": []}


def run(config: Path, *args: str, roles: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(main, ["branch", *args, "--config", str(config)],
                                env={"FLAGDECK_ROLES": roles, "FLAGDECK_USER": "Cli User <cli@example.com>"})
    return result.exit_code, result.output


def test_refusals_and_usage_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path / "a")
    assert run(config, "create", "--env", "production", "one")[0] == 0
    code, out = run(config, "create", "--env", "production", "one")
    assert (code, out) == (1, "Error: branch 'one' already exists\n")
    code, out = run(config, "create", "--env", "staging", "staging")
    assert (code, out) == (1, "Error: 'staging' is already an environment's key; choose another branch name\n")
    code, out = run(config, "create", "--env", "one", "two")
    assert code == 1 and "a branch cannot be branched" in out
    code, out = run(config, "create", "--env", "production", "two", roles='{"*": "viewer"}')
    assert (code, out) == (1, "Error: Cli User is viewer in 'production'; creating a branch needs editor\n")
    code, out = run(config, "delete", "--env", "production", "nope")
    assert (code, out) == (1, "Error: environment 'production' has no branch 'nope'\n")
    code, out = run(config, "create", "--env", "production", "bad name")
    assert code == 2 and "branch name 'bad name' is not allowed" in out
    code, out = run(config, "create", "--env", "nowhere", "x")
    assert code == 2 and "unknown environment 'nowhere'" in out
    code, out = run(config, "create", "x")
    assert code == 2 and "Missing option '--env'" in out
    assert run(config, "delete", "--env", "production", "one") == (0, "deleted branch one of production\n")


def test_create_offline_says_it_is_not_pushed_yet(tmp_path: Path) -> None:
    config = write_config(tmp_path / "a", str(tmp_path / "nowhere.git"))
    done = flagdeck(config, "create", "--env", "staging", "later")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("warning: not pushed yet: ")
    online = write_config(tmp_path / "b", bare(tmp_path / "origin.git").as_uri())
    done = flagdeck(online, "create", "--env", "staging", "now")
    assert (done.returncode, done.stderr) == (0, "")
