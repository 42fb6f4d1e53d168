"""Change events delivered by a real `flagdeck serve` process (python -m evaluator) to a real receiver on
127.0.0.1 that fails now and then: every commit to the environment — made by hand with the git CLI or with pygit2 —
arrives once by its idempotency key, in order, signed; a restart in the middle loses and duplicates nothing; the
delivery log says what was sent and what is being retried; a Slack-compatible body for another webhook."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.events.cloudevents import event_id
from tests.events.receiver import Receiver
from tests.server.harness import ROOT, FlagRepo, ServerProcess, wait_until, write_config
from tests.store.test_snapshot import raw_commit

SECRET = b"s3cret-for-tests"
FILE = "prod/default/features.yaml"
ENVS = "  production: {storage: flags, directory: prod, default: true}\n  staging: {storage: flags, directory: staging}\n"


def features(rollout: int, enabled: bool = True) -> str:
    return ('version: "1.6"\nflags:\n'
            f"  - key: checkout\n    name: Checkout\n    type: BOOLEAN_FLAG_TYPE\n    enabled: {str(enabled).lower()}\n"
            f"    rollouts:\n      - threshold: {{percentage: {rollout}, value: true}}\n"
            "  - key: banner\n    name: Banner\n    type: BOOLEAN_FLAG_TYPE\n    enabled: false\n")


def config(tmp_path: Path, repo: FlagRepo, receiver: Receiver, extra: str = "") -> Path:
    hooks = (f"events:\n  state_dir: {tmp_path / 'state'}\n  poll_interval: 100ms\n"
             f"webhooks:\n  - name: audit\n    url: {receiver.url}\n    secret: {SECRET.decode()}\n"
             "    environments: [production]\n    retry: {initial: 50ms, max: 200ms}\n" + extra)
    return write_config(tmp_path, repo.path, environments=ENVS, extra=hooks)


def flagdeck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def receiver() -> Receiver:
    found = Receiver(SECRET, fail_every=3, drop_every=7)
    yield found  # type: ignore[misc]
    found.close()


def test_every_commit_is_delivered_once_by_key_in_order_signed(tmp_path: Path, receiver: Receiver) -> None:
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({FILE: features(10)}, "before serve started")
    path = config(tmp_path, repo, receiver)
    server = ServerProcess(path)
    try:
        state = tmp_path / "state" / "webhooks" / "audit" / "production.cursor"
        wait_until(state.exists, timeout=20, what="the cursor started at the tip")
        commits = []
        for rollout in range(20, 90, 10):  # by hand, with the git CLI
            commits.append(repo.commit({FILE: features(rollout)}, f"rollout {rollout}%"))
        repo.commit({"staging/default/features.yaml": features(5)}, "staging only: no production event")
        commits.append(raw_commit(repo.path, {FILE: features(90, enabled=False).encode()}, "off, by pygit2\n\n"
                                  "Break-glass: incident 7"))
        received = receiver.wait_for(len(commits), timeout=60)
        keys = [r.key for r in received]
        assert keys == [event_id("production", c) for c in commits]  # each once, in commit order
        assert len(set(keys)) == len(keys) and receiver.refused > 0  # failures were retried
        assert all(r.signature_ok for r in received)
        first = received[0]
        assert first.headers["Content-Type"] == "application/cloudevents+json"
        event = first.body
        assert event["specversion"] == "1.0" and event["id"] == keys[0] and event["subject"] == commits[0]
        assert event["source"] == "flagdeck://environments/production" and event["type"] == "io.flagdeck.change.v1"
        data = event["data"]
        assert data["author"] == {"name": "Test", "email": "test@example.com"}
        assert data["message"].startswith("rollout 20%")
        (change,) = data["changes"]
        assert change["kind"] == "flag" and change["key"] == "checkout" and change["action"] == "updated"
        assert change["fields"] == [{"path": "rollouts[0].threshold.percentage", "before": 10.0, "after": 20.0}]
        assert change["before"]["rollouts"][0]["threshold"]["percentage"] == 10.0
        assert change["after"]["rollouts"][0]["threshold"]["percentage"] == 20.0
        last = received[-1].body["data"]
        assert last["author"]["email"] == "alice@example.com" and last["trailers"] == {"Break-glass": "incident 7"}
        assert [c["fields"] for c in last["changes"]] == [[
            {"path": "enabled", "before": True, "after": False},
            {"path": "rollouts[0].threshold.percentage", "before": 80.0, "after": 90.0}]]
        # the delivery log, through the CLI: every event sent, the failures retried
        shown = flagdeck("webhooks", "--config", str(path), "--json", "--limit", "500")
        assert shown.returncode == 0, shown.stderr
        report = json.loads(shown.stdout)
        (hook,) = report["webhooks"]
        assert hook["name"] == "audit" and hook["cursors"] == {"production": commits[-1]}
        statuses = [d["status"] for d in report["deliveries"]]
        assert statuses.count("sent") == len(commits) and "retrying" in statuses
        assert {d["event"] for d in report["deliveries"] if d["status"] == "sent"} == set(keys)
        text = flagdeck("webhooks", "--config", str(path))
        assert "audit" in text.stdout and "sent" in text.stdout and "retrying" in text.stdout
    finally:
        assert server.stop() == 0


def test_a_restart_in_the_middle_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    receiver = Receiver(SECRET, fail_every=4, delay=0.15)  # slow: the stop comes with events still to send
    try:
        repo = FlagRepo(tmp_path / "repo")
        repo.commit({FILE: features(1)}, "start")
        path = config(tmp_path, repo, receiver)
        server = ServerProcess(path)
        cursor = tmp_path / "state" / "webhooks" / "audit" / "production.cursor"
        wait_until(cursor.exists, timeout=20, what="the cursor")
        commits = [repo.commit({FILE: features(n)}, f"step {n}") for n in range(2, 14)]
        wait_until(lambda: len(receiver.keys()) >= 3, timeout=30, what="a few deliveries")
        server.proc.send_signal(signal.SIGTERM)  # in the middle: an attempt in flight finishes, the rest waits
        assert server.proc.wait(20) == 0
        delivered = len(set(receiver.keys()))
        assert 3 <= delivered < len(commits)
        commits += [repo.commit({FILE: features(n)}, f"while down {n}") for n in (40, 41)]
        server = ServerProcess(path)
        try:
            received = receiver.wait_for(len(commits), timeout=60)
        finally:
            assert server.stop() == 0
        keys = [r.key for r in received]
        assert keys == [event_id("production", c) for c in commits]  # none lost, none twice, in order
        assert all(r.signature_ok for r in received)
    finally:
        receiver.close()


def test_a_slack_webhook_gets_a_slack_body_signed_with_the_secret_from_the_environment(
        tmp_path: Path, receiver: Receiver) -> None:
    slack = Receiver(b"from-the-environment")
    try:
        repo = FlagRepo(tmp_path / "repo")
        repo.commit({FILE: features(10)}, "start")
        extra = (f"  - name: chat\n    url: {slack.url}\n    secret_env: TEST_SLACK_SECRET\n    format: slack\n"
                 "    retry: {initial: 50ms}\n")
        path = config(tmp_path, repo, receiver, extra)
        os.environ["TEST_SLACK_SECRET"] = "from-the-environment"
        try:
            server = ServerProcess(path)
        finally:
            del os.environ["TEST_SLACK_SECRET"]
        try:
            for name in ("audit", "chat"):
                wait_until((tmp_path / "state" / "webhooks" / name / "production.cursor").exists, timeout=20)
            commit = repo.commit({FILE: features(30)}, "thirty percent")
            (message,) = slack.wait_for(1)
            assert message.signature_ok and message.key == event_id("production", commit)
            assert message.headers["Content-Type"] == "application/json"
            text = message.body["text"]
            assert text.startswith(f"*Test* changed *production* ({commit[:8]}): thirty percent")
            assert "updated flag `default/checkout`: rollouts[0].threshold.percentage: 10.0 → 30.0" in text
            assert message.body["blocks"][0]["text"]["text"] == text
            staging = repo.commit({"staging/default/features.yaml": features(3)}, "staging")  # chat: every env
            keys = {r.key for r in slack.wait_for(2)}
            assert event_id("staging", staging) in keys
        finally:
            assert server.stop() == 0
    finally:
        slack.close()


@pytest.mark.parametrize(("hook", "error"), [
    ("  - {name: a, url: 'ftp://x'}\n", "webhooks.0.url"),
    ("  - {name: a, url: 'http://x', environments: [prod]}\n", "webhooks.0.environments: unknown environment"),
    ("  - {name: a, url: 'http://x'}\n  - {name: a, url: 'http://y'}\n", "webhooks.1.name: a second webhook"),
    ("  - {name: a, url: 'http://x', format: teams}\n", "webhooks.0.format"),
    ("  - {name: a, url: 'http://x', secret: s, secret_env: S}\n", "webhooks.0"),
])
def test_a_bad_webhook_is_a_file_line_error(tmp_path: Path, hook: str, error: str) -> None:
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({FILE: features(1)})
    path = write_config(tmp_path, repo.path, environments=ENVS, extra="webhooks:\n" + hook)
    done = flagdeck("webhooks", "--config", str(path))
    assert done.returncode == 1
    assert f"{path}:1" in done.stderr and error in done.stderr, done.stderr  # lines 10 and 11: the webhooks
    if "1.name" in error:
        assert f"{path}:11: webhooks.1.name" in done.stderr, done.stderr


def test_event_ids_are_stable_per_commit_and_environment() -> None:
    assert event_id("production", "a" * 40) == event_id("production", "a" * 40)
    assert event_id("production", "a" * 40) != event_id("staging", "a" * 40)
    assert event_id("production", "a" * 40) == hashlib.sha256(b"production\0" + b"a" * 40).hexdigest()[:32]


def test_serve_refuses_to_start_without_a_webhook_secret_it_names(tmp_path: Path) -> None:
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({FILE: features(1)})
    path = write_config(tmp_path, repo.path, environments=ENVS, extra=(
        "webhooks:\n  - name: audit\n    url: http://127.0.0.1:9/hook\n    secret_env: FLAGDECK_TEST_UNSET_SECRET\n"))
    env = {k: v for k, v in os.environ.items() if k != "FLAGDECK_TEST_UNSET_SECRET"}
    done = subprocess.run([sys.executable, "-m", "evaluator", "--config", str(path), "--port", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert (f"{path}:12: webhooks.0.secret_env: the environment variable FLAGDECK_TEST_UNSET_SECRET is not set "
            "(webhook audit)") in done.stderr + done.stdout
    assert flagdeck("webhooks", "--config", str(path)).returncode == 0  # the CLI reads it on any machine
