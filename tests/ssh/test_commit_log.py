"""Commit lines in the SSH log: a commit is logged as a person's only when that person's console made it (the
console reports it on a pipe only it holds). A `git push` by someone else with the same e-mail address, while the
person is connected or just after they left, is not theirs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.ssh.report import REPORT_FD_ENV, commit_reporter, parse_report
from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.model.changes import Change, Kind
from gitstore.results import Author
from gitstore.store import Store

from .console_steps import commit_pending, git_log, open_console, stage_toggle
from .helpers import events_of


def push_as(repo: Path, work: Path, name: str, email: str, flag: str) -> str:
    """Clone `repo`, flip `flag`'s `enabled` in production as `name <email>`, push; the new commit id."""
    git = ["git", "-c", f"user.name={name}", "-c", f"user.email={email}"]
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "pull", "-q", "--rebase"], check=True)
    features = work / "production" / "default" / "features.yaml"
    lines = features.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == f"- key: {flag}")
    flip = next(i for i in range(at, len(lines)) if lines[i].strip().startswith("enabled:"))
    lines[flip] = lines[flip].replace("true", "false") if "true" in lines[flip] else lines[flip].replace(
        "false", "true")
    features.write_text("".join(lines))
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-am", f"flip {flag}"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True)
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.slow
def test_only_the_persons_own_console_commits_are_theirs(team, start_server, tmux, tmp_path):
    config = init_demo(tmp_path / "flags")
    repo = config.parent / "repo"
    server = start_server(fake_console=False, config=config)
    alice = open_console(tmux, team, server, "alice")
    login = server.wait_event(lambda e: e["event"] == "login")
    pid = server.wait_event(lambda e: e["event"] == "session_start")["pid"]
    # someone else pushes with alice's name and e-mail while she is connected
    forged = push_as(repo, tmp_path / "clone", "Alice Test", "alice@example.com", "maintenance-mode")
    alice.wait_for("Branch moved", timeout=15)  # her console saw it: the server had every chance to misattribute
    stage_toggle(alice, "new-checkout", 2)
    commit_pending(alice)
    alice.wait_for("no pending edits")
    assert git_log(config, 1) == ["Alice Test <alice@example.com>|update flag default/new-checkout"]
    own = subprocess.run(["git", "-C", str(repo), "rev-parse", "main"], capture_output=True, text=True,
                         check=True).stdout.strip()
    line = server.wait_event(lambda e: e["event"] == "commit" and e["commit"] == own)
    assert [e["commit"] for e in events_of("commit", server)] == [own]  # the push before it is not hers
    assert (line["user"], line["fingerprint"], line["address"], line["pid"]) == (
        "alice", login["fingerprint"], login["address"], pid)
    assert (line["environment"], line["summary"]) == ("production", "update flag default/new-checkout")
    alice.keys("q")
    alice.wait_dead()
    server.wait_event(lambda e: e["event"] == "logout")
    # and again just after she left
    after = push_as(repo, tmp_path / "clone", "Alice Test", "alice@example.com", "maintenance-mode")
    authors = subprocess.run(["git", "-C", str(repo), "log", "--format=%ae", "-3"], capture_output=True, text=True,
                             check=True).stdout.split()
    assert authors == ["alice@example.com"] * 3
    server.finish()  # stopped: every line it would have written is in
    assert [e["commit"] for e in events_of("commit", server)] == [own]
    assert forged not in str(server.events) and after not in str(server.events)


def test_every_commit_a_store_makes_is_reported_on_its_pipe(tmp_path):
    """The console's side: commit, revert, restore and promote all go through the store's hook; a no-op is not a
    commit."""
    config = init_demo(tmp_path / "flags")
    read_end, write_end = os.pipe()
    environ = {REPORT_FD_ENV: str(write_end), "OTHER": "x"}
    with Store(load_config(config)) as store:
        store.on_commit = commit_reporter(environ)
        assert environ == {"OTHER": "x"}  # programs the console starts do not see it
        snapshot = store.snapshot("staging")
        flag = next(f for f in snapshot.namespaces["default"].document.flags if f.key == "new-checkout")
        change = Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
        made = [store.commit("staging", [change], author=Author("Tess", "tess@example.com")).commit]
        made.append(store.revert("staging", "default", made[0], flag="new-checkout").commit)
        made.append(store.restore("staging", "default", made[0], flag="new-checkout").commit)
        same = Change("default", Kind.FLAG, flag.key, store.snapshot("staging").document("default").flag(flag.key))
        assert not store.commit("staging", [same]).created  # nothing changed: no commit, no report
        made.append(store.promote("staging", "production", "default", flag="new-checkout").commit)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reports = [parse_report(line) for line in pipe]
    where = ["staging", "staging", "staging", "production"]
    assert [(r.environment, r.commit) for r in reports if r] == list(zip(where, made, strict=True))
    assert reports[0] is not None and reports[0].summary == "update flag default/new-checkout"
    assert parse_report(b'{"environment": "x", "commit": "HEAD", "summary": ""}') is None  # only commit ids
