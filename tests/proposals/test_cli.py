"""The proposal commands through a real `flagdeck` process: exit 0 done, 1 refused with one line saying why, 2
usage; the acting user is --user, their role FLAGDECK_ROLES."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gitstore.proposals.records import State
from gitstore.proposals.service import Proposals

from .conftest import ALICE, open_as, toggle

ROOT = Path(__file__).resolve().parents[2]


def flagdeck(config: Path, *args: str, user: str = "Alice Example <alice@example.com>",
             roles: str = "") -> tuple[int, str, str]:
    env = {**os.environ, "FLAGDECK_CONFIG": str(config), "FLAGDECK_ROLES": roles, "FLAGDECK_USER": user}
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_propose_approve_merge_from_the_command_line(config: Path) -> None:
    with open_as(config, ALICE) as store:
        store.branch("production", "fix", ALICE)
        store.commit("fix", [toggle(store, "fix")], ALICE)
    assert flagdeck(config, "propose", "--env", "production", "--branch", "fix", "--title", "Toggle",
                    roles='{"*": "editor"}') == (0, "P-1\n", "")
    code, out, err = flagdeck(config, "approve", "P-1")
    assert (code, out, err) == (1, "", "refused: P-1: the author cannot approve their own proposal\n")
    code, out, err = flagdeck(config, "merge", "P-1")
    assert code == 1 and err.startswith("refused: P-1 is not approved: 0 of 1 approval(s)") and err.count("\n") == 1
    assert flagdeck(config, "approve", "P-1", "--user", "Bob <bob@example.com>") == (0, "approved P-1: approved\n", "")
    code, out, _ = flagdeck(config, "proposal", "show", "P-1", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["state"] == "approved" and shown["mergeable"] is True
    assert [(c["resource"], c["action"], c["conflict"]) for c in shown["changes"]] == [
        ("default/new-checkout", "update", False)]
    code, out, _ = flagdeck(config, "proposal", "show", "P-1")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "P-1  approved  Toggle" and "Approvals: 1 of 1 (admin) for tip " in out
    assert "  update flag default/new-checkout" in lines and "      enabled: true -> false" in lines
    code, out, _ = flagdeck(config, "merge", "P-1", "--keep-branch")
    assert code == 0 and out.startswith("merged P-1 into production as ") and out.endswith("; branch fix kept\n")
    code, out, _ = flagdeck(config, "proposals", "--state", "merged", "--json")
    assert code == 0 and [(p["id"], p["state"]) for p in json.loads(out)] == [("P-1", "merged")]
    with open_as(config, ALICE) as store:
        assert Proposals(store).get("P-1").state is State.MERGED


def test_usage_and_protection_exit_codes(config: Path) -> None:
    code, _, err = flagdeck(config, "approve")
    assert code == 2 and "Missing argument 'ID'" in err
    code, _, err = flagdeck(config, "proposals", "--state", "pending")
    assert code == 2 and "'pending' is not one of" in err
    code, _, err = flagdeck(config, "propose", "--env", "production", "--branch", "nope", "--title", "T")
    assert (code, err) == (1, "refused: 'production' has no branch 'nope' (create it with `flagdeck branch create "
                              "--env production nope`)\n")
    with open_as(config, ALICE) as store:
        head = store.head("production")
    code, _, err = flagdeck(config, "revert", "--env", "production", head)
    assert code == 1 and "production is protected" in err
