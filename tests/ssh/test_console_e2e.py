"""End to end: the real `flagdeck console` served by `flagdeck ssh-server`, driven through the real OpenSSH client
in tmux, over a real Git repository (the demo). Each person's identity and role come from their key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.errors import AccessDenied
from gitstore.model.changes import Change, Kind
from gitstore.results import Author
from gitstore.store import Store

from .console_steps import commit_pending, enabled, git_log, open_console, stage_toggle
from .helpers import events_of, ssh_command, wait_gone

pytestmark = pytest.mark.slow


@pytest.fixture
def flags(tmp_path: Path) -> Path:
    return init_demo(tmp_path / "flags")


def test_editor_toggles_and_commits_as_themselves(team, start_server, tmux, flags):
    server = start_server(fake_console=False, config=flags)
    before = enabled(flags, "production")
    alice = open_console(tmux, team, server, "alice")
    assert "role: editor" in alice.screen()
    stage_toggle(alice, "new-checkout", 2)
    commit_pending(alice)
    alice.wait_for("no pending edits")
    line = server.wait_event(lambda e: e["event"] == "commit")
    login = server.wait_event(lambda e: e["event"] == "login")
    assert (line["user"], line["environment"], line["fingerprint"]) == (
        "alice",
        "production",
        login["fingerprint"],
    )
    assert git_log(flags, 1) == ["Alice Test <alice@example.com>|update flag default/new-checkout"]
    assert enabled(flags, "production")["new-checkout"] is not before["new-checkout"]
    alice.keys("q")
    # tmux 3.3 does not always record a dead pane's status (None); the server's own record of the console's exit
    # status below is the authoritative check
    assert alice.wait_dead() in (0, None)
    end = server.wait_event(lambda e: e["event"] == "session_end")
    assert (end["rc"], end["reason"]) == (0, "exit")


def test_viewer_cannot_commit(team, start_server, tmux, flags):
    server = start_server(fake_console=False, config=flags)
    head = git_log(flags, 1)
    bob = open_console(tmux, team, server, "bob")
    assert "viewer (read-only)" in bob.screen()
    bob.keys("Down", "Down")
    bob.wait_for("> new-checkout")
    assert "Toggle" not in bob.screen()  # read-only roles are not offered the editing keys
    bob.keys("Space")  # ...and pressing one anyway stages nothing
    bob.keys("C-s")
    bob.wait_for("Nothing to commit: no pending edits.")
    bob.wait_for("read-only, cannot commit")  # the same frame, which can reach the terminal in more than one write
    bob.keys("Enter", "Escape")
    bob.wait_for("no pending edits")
    assert git_log(flags, 1) == head
    # below the UI: the roles the server hands bob's console make the store itself refuse a commit
    roles = server.wait_event(lambda e: e["event"] == "login" and e["user"] == "bob")["roles"]
    with Store(load_config(flags), roles=roles) as store:
        snapshot = store.snapshot("production")
        flag = next(f for f in snapshot.namespaces["default"].document.flags if f.key == "new-checkout")
        change = Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
        with pytest.raises(AccessDenied):
            store.commit("production", [change], author=Author("Bob Test", "bob@example.com"))
    assert git_log(flags, 1) == head
    assert not events_of("commit", server)


def test_two_people_edit_the_same_namespace_at_once(team, start_server, tmux, flags):
    server = start_server(fake_console=False, config=flags)
    before = enabled(flags, "production")
    alice = open_console(tmux, team, server, "alice")
    carol = open_console(tmux, team, server, "carol")
    stage_toggle(alice, "new-checkout", 2)
    stage_toggle(carol, "maintenance-mode", 1)
    commit_pending(alice)
    alice.wait_for("no pending edits")
    commit_pending(carol)  # based on the commit before alice's: rebased cleanly onto it
    carol.wait_for("no pending edits")
    after = enabled(flags, "production")
    assert after["new-checkout"] is not before["new-checkout"]
    assert after["maintenance-mode"] is not before["maintenance-mode"]  # neither change was lost
    assert git_log(flags, 2) == [
        "Carol Test <carol@example.com>|update flag default/maintenance-mode",
        "Alice Test <alice@example.com>|update flag default/new-checkout",
    ]
    server.wait_event(lambda e: e["event"] == "commit" and e["user"] == "carol")
    assert sorted(e["user"] for e in events_of("commit", server)) == ["alice", "carol"]


def test_resize_redraws_the_console(team, start_server, tmux, flags):
    server = start_server(fake_console=False, config=flags)
    alice = open_console(tmux, team, server, "alice", width=110, height=30)
    assert "palette" in alice.screen().splitlines()[29]
    alice.resize(70, 16)
    lines = alice.wait_screen(lambda lines: len(lines) == 16 and "palette" in lines[15], "the footer redrawn")
    assert max(len(line.rstrip()) for line in lines) <= 70
    assert "new-checkout" in alice.screen()


def test_closing_the_client_ends_its_console_and_exec_is_refused(team, start_server, tmux, flags):
    server = start_server(fake_console=False, config=flags)
    alice = open_console(tmux, team, server, "alice")
    pid = server.wait_event(lambda e: e["event"] == "session_start")["pid"]
    alice.kill()
    wait_gone(pid)
    end = server.wait_event(lambda e: e["event"] == "session_end")
    assert end["reason"] == "disconnect"
    server.wait_event(lambda e: e["event"] == "logout")
    done = subprocess.run(
        ssh_command(team.keys["alice"], server.port) + ["ls"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=15,
    )
    assert done.returncode == 1 and "commands are not accepted" in done.stderr
    assert len(events_of("session_start", server)) == 1  # no console was started for the command
