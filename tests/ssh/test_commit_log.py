"""Commit lines in the SSH log: a commit authored by a connected person is logged with their key fingerprint and
address and the environment it changed; commits by anyone else are not SSH activity."""

from __future__ import annotations

import subprocess

from gitstore.changes import Change, Kind
from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.results import Author
from gitstore.store import Store

from .helpers import events_of, ssh_command


def toggle(store: Store, env: str, flag_key: str, author: Author) -> str:
    snapshot = store.snapshot(env)
    flag = next(f for f in snapshot.namespaces["default"].document.flags if f.key == flag_key)
    change = Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
    return store.commit(env, [change], author=author, based_on=snapshot.commit).commit


def test_commits_by_connected_people_are_logged(team, start_server, tmux, tmp_path):
    config = init_demo(tmp_path / "flags")
    server = start_server(config=config)
    client = tmux(ssh_command(team.keys["carol"], server.port, "-tt"))
    client.wait_for("FAKE CONSOLE")
    login = server.wait_event(lambda e: e["event"] == "login")
    with Store(load_config(config)) as store:
        # what carol's console does on her behalf (it commits as FLAGDECK_USER)
        mine = toggle(store, "staging", "new-checkout", Author("Carol Test", "carol@example.com"))
        theirs = toggle(store, "production", "new-checkout", Author("Dave Elsewhere", "dave@example.com"))
        again = toggle(store, "production", "maintenance-mode", Author("Carol Test", "carol@example.com"))
    first = server.wait_event(lambda e: e["event"] == "commit" and e["commit"] == mine)
    assert first["user"] == "carol" and first["environment"] == "staging"
    assert (first["fingerprint"], first["address"]) == (login["fingerprint"], login["address"])
    assert first["summary"] == "update flag default/new-checkout"
    second = server.wait_event(lambda e: e["event"] == "commit" and e["commit"] == again)
    assert second["environment"] == "production"  # two environments share the branch: told apart by directory
    logged = sorted(e["commit"] for e in events_of("commit", server))
    assert logged == sorted([mine, again])  # dave is not connected: his commit is not SSH activity
    assert theirs not in str(server.events)
    client.keys("q")
    client.wait_dead()
    server.wait_event(lambda e: e["event"] == "session_end")
    with Store(load_config(config)) as store:  # a commit seen just after the person quit is still theirs
        late = toggle(store, "staging", "maintenance-mode", Author("Carol Test", "carol@example.com"))
    assert server.wait_event(lambda e: e["event"] == "commit" and e["commit"] == late)["user"] == "carol"
    assert subprocess.run(
        ["git", "-C", str(tmp_path / "flags" / "repo"), "log", "--format=%ae", "-4"],
        capture_output=True,
        text=True,
    ).stdout.split() == ["carol@example.com", "carol@example.com", "dave@example.com", "carol@example.com"]
