"""Issue 15 end to end, two people over SSH: the real `flagdeck console` served by `flagdeck ssh-server`, driven
through OpenSSH in tmux, on the demo with production protected, and a real `flagdeck serve` mirroring the repository.
Alice (editor) branches production, edits the branch and proposes it; she cannot approve her own proposal nor commit
to production directly. Bob (admin) opens the proposal, sees the change and approves it; Alice's next edit on the
branch withdraws the approval; Bob approves again and merges; the mirror serves the merged value within its poll
interval."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import pytest
from server.harness import ServerProcess as Evaluator
from server.harness import wait_until

from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.errors import ProtectedEnvironment
from gitstore.model.changes import Change, Kind
from gitstore.results import Author
from gitstore.store import Store

from .console_steps import enabled, open_console

pytestmark = pytest.mark.slow

PROTECT = "protect: {proposals: required, approvals: 1, approvers: admin}"
ALICE = Author("Alice Test", "alice@example.com")


def toggle(store: Store, env: str, key: str) -> Change:
    flag = store.snapshot(env).document("default").flag(key)
    return Change("default", Kind.FLAG, key, flag.model_copy(update={"enabled": not flag.enabled}))


def served_enabled(url: str, key: str) -> bool | None:
    snapshot = httpx.get(f"{url}/client/v2/environments/production/namespaces/default/snapshot", timeout=5).json()
    return next((f["enabled"] for f in snapshot["flags"] if f["key"] == key), None)


def test_two_people_propose_review_and_merge_over_ssh(team, start_server, tmux, tmp_path: Path) -> None:
    flags = init_demo(tmp_path / "flags")
    text = flags.read_text()
    flags.write_text(text.replace("production: {storage: local, directory: production, default: true}",
                                  f"production: {{storage: local, directory: production, default: true, {PROTECT}}}"))
    mirror = tmp_path / "mirror" / "flagdeck.yaml"
    mirror.parent.mkdir()
    mirror.write_text(flags.read_text().replace("path: repo", "path: repo").replace(
        "remote: null", f"remote: {(flags.parent / 'repo').as_uri()}").replace("poll_interval: 1s",
                                                                               "poll_interval: 300ms"))
    team.write({"alice": {"*": "editor"}, "bob": {"*": "admin"}})
    server = start_server(fake_console=False, config=flags)
    before = enabled(flags, "production")["new-checkout"]
    served = Evaluator(mirror, command=("-m", "app.cli", "serve"))
    try:
        assert served_enabled(served.url, "new-checkout") is before

        alice = open_console(tmux, team, server, "alice")
        alice.keys("E")
        alice.wait_for("Vs base")
        alice.keys("b")
        alice.wait_for("Branch production")
        alice.type("trial")
        alice.wait_for("Name             trial")
        alice.keys("Enter")
        alice.wait_for("└ trial")
        alice.keys("Down", "Enter")  # open the branch: edited like an environment
        alice.wait_for("env: trial")
        alice.keys("Down", "Down")
        alice.wait_for("> new-checkout")
        alice.keys("Space", "C-s")
        alice.wait_for("Pending edits")
        alice.keys("Enter")
        alice.wait_for("no pending edits")
        alice.keys("E")
        alice.wait_for("└ trial")
        alice.keys("P")
        alice.wait_for("Propose trial for production")
        alice.type("Checkout off")
        alice.wait_for("Title            Checkout off")
        alice.keys("Enter")
        alice.wait_for("P-1  Checkout off")
        alice.keys("a")
        alice.wait_for("the author cannot approve their own proposal")
        login = server.wait_event(lambda e: e["event"] == "login" and e["user"] == "alice")
        with Store(load_config(flags), roles=login["roles"], identity=ALICE) as store:
            with pytest.raises(ProtectedEnvironment):  # her direct commit to production is refused
                store.commit("production", [toggle(store, "production", "maintenance-mode")], author=ALICE)

        bob = open_console(tmux, team, server, "bob")
        bob.keys("E")
        bob.wait_for("└ trial")
        bob.keys("v")
        bob.wait_for("Proposals for production")
        bob.keys("Enter")
        bob.wait_for("update flag default/new-checkout")
        bob.wait_for(f"+    enabled: {str(not before).lower()}")
        bob.keys("a")
        bob.wait_for("APPROVED")

        with Store(load_config(flags), roles=login["roles"], identity=ALICE) as store:  # alice edits again
            store.commit("trial", [toggle(store, "trial", "maintenance-mode")], author=ALICE)
        bob.keys("F5")
        bob.wait_for("approvals withdrawn")
        assert "Approvals 0/1" in bob.screen()
        bob.keys("a")
        bob.wait_for("APPROVED")
        bob.keys("m")
        bob.wait_for("MERGED")

        after = enabled(flags, "production")
        assert after["new-checkout"] is not before
        wait_until(lambda: served_enabled(served.url, "new-checkout") is after["new-checkout"], timeout=5,
                   what="the mirror to serve the merged value")
    finally:
        served.stop()
