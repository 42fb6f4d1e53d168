"""Re-sending given-up events (issue 17, gap 5): a real `flagdeck serve` gives up on events a real receiver keeps
refusing; once the receiver is back, `flagdeck webhooks resend` sends them again — every given-up one
(`--all-failed`) or one by id — with the same body, signature and idempotency key, each attempt in the delivery
log with who asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evaluator.events.cloudevents import event_id
from evaluator.events.state import DeliveryLog
from tests.events.receiver import Receiver
from tests.server.harness import ROOT, FlagRepo, ServerProcess, wait_until

from .test_webhooks import FILE, SECRET, config, features

OPS = "Ops Person <ops@example.com>"


def flagdeck(path: Path, *args: str, roles: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLAGDECK_ROLES": roles, "FLAGDECK_USER": OPS}
    return subprocess.run([sys.executable, "-m", "app.cli", *args, "--config", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)


def deliveries(path: Path) -> list[dict[str, object]]:
    """The delivery log, newest first (read as `flagdeck webhooks --json` reads it)."""
    return [d.model_dump(mode="json") for d in DeliveryLog(path.parent / "state").recent(500)]


def given_up(tmp_path: Path, receiver: Receiver) -> tuple[Path, list[str]]:
    """A serve that gave up on two events (the receiver refusing everything), stopped; (config, commits)."""
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({FILE: features(10)}, "start")
    path = config(tmp_path, repo, receiver)
    path.write_text(path.read_text().replace("retry: {initial: 50ms, max: 200ms}",
                                             "retry: {initial: 50ms, max: 100ms, attempts: 2}"))
    server = ServerProcess(path)
    try:
        wait_until((tmp_path / "state" / "webhooks" / "audit" / "production.cursor").exists, timeout=20)
        commits = [repo.commit({FILE: features(n)}, f"rollout {n}%") for n in (20, 30)]
        wait_until(lambda: sum(d["status"] == "failed" for d in deliveries(path)) == 2, timeout=60,
                   what="both events given up")
    finally:
        assert server.stop() == 0
    return path, commits


def test_given_up_events_are_resent_with_the_same_key_and_body(tmp_path: Path) -> None:
    receiver = Receiver(SECRET, fail_every=1)  # refuses everything
    try:
        path, commits = given_up(tmp_path, receiver)
        assert receiver.keys() == []
        keys = [event_id("production", c) for c in commits]
        receiver.fail_every = 0  # back
        done = flagdeck(path, "webhooks", "resend", "--webhook", "audit", "--env", "production", "--all-failed")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert [line.split()[:3] for line in lines] == [["sent", k, c[:8]] for k, c in zip(keys, commits, strict=True)]
        assert lines[0].endswith("rollout 20%  HTTP 204 (resent by Ops Person)")
        received = receiver.wait_for(2)
        assert [r.key for r in received] == keys and all(r.signature_ok for r in received)
        assert received[0].body["id"] == keys[0] and received[0].body["subject"] == commits[0]
        again = flagdeck(path, "webhooks", "resend", "--webhook", "audit", "--env", "production", "--all-failed")
        assert (again.returncode, again.stdout) == (0, "nothing to resend: no event of webhook audit in production "
                                                       "was given up\n")
        # one event by (a prefix of) its id: the very same bytes as the first time
        one = flagdeck(path, "webhooks", "resend", "--webhook", "audit", "--env", "production", keys[0][:12],
                       "--json")
        assert one.returncode == 0, one.stderr
        (record,) = json.loads(one.stdout)
        assert record["event"] == keys[0] and record["status"] == "sent" and record["resent_by"] == OPS
        first, copy = (r for r in receiver.accepted if r.key == keys[0])
        assert first.headers["X-Flagdeck-Signature"] == copy.headers["X-Flagdeck-Signature"]
        assert first.body == copy.body
        shown = flagdeck(path, "webhooks", "--json", "--limit", "500")
        log = json.loads(shown.stdout)["deliveries"]
        assert [d["status"] for d in log if d["resent_by"] == OPS] == ["sent"] * 3
        assert [d["attempt"] for d in log if d["resent_by"] == OPS] == [4, 3, 3]  # after the two given up
        text = flagdeck(path, "webhooks").stdout
        assert "resent by Ops Person" in text
        # a resend that fails again: exit 1, logged failed, still given up
        receiver.fail_every = 1
        failed = flagdeck(path, "webhooks", "resend", "--webhook", "audit", "--env", "production", keys[1])
        assert failed.returncode == 1 and failed.stdout.startswith(f"failed {keys[1]}") and "HTTP 500" in failed.stdout
        assert deliveries(path)[0]["status"] == "failed"
        receiver.fail_every = 0
        retried = flagdeck(path, "webhooks", "resend", "--webhook", "audit", "--env", "production", "--all-failed")
        assert retried.returncode == 0 and retried.stdout.startswith(f"sent   {keys[1]}")
    finally:
        receiver.close()


def test_resend_refusals(tmp_path: Path) -> None:
    receiver = Receiver(SECRET, fail_every=1)
    try:
        repo = FlagRepo(tmp_path / "repo")
        repo.commit({FILE: features(10)}, "start")
        path = config(tmp_path, repo, receiver)
        base = ("webhooks", "resend", "--env", "production")
        done = flagdeck(path, *base, "--webhook", "audit", "--all-failed", roles='{"*": "viewer"}')
        assert done.returncode == 1
        assert done.stderr == ("refused: Ops Person is viewer in 'production'; re-sending webhook events needs "
                               "editor\n")
        done = flagdeck(path, *base, "--webhook", "nope", "--all-failed")
        assert done.returncode == 1 and f"refused: no webhook 'nope' in {path} (webhooks: audit)" in done.stderr
        done = flagdeck(path, *base, "--webhook", "audit", "0123456789abcdef")
        assert done.returncode == 1 and "event 0123456789abcdef is not in the delivery log of webhook 'audit'" \
            in done.stderr
        done = flagdeck(path, "webhooks", "resend", "--env", "staging", "--webhook", "audit", "--all-failed")
        assert done.returncode == 1 and "webhook 'audit' does not deliver 'staging'" in done.stderr
        done = flagdeck(path, *base, "--webhook", "audit")
        assert done.returncode == 2 and "or give --all-failed, not both" in done.stderr
        assert receiver.requests == 0  # no refusal sent anything
    finally:
        receiver.close()
