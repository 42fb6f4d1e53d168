"""Two `flagdeck serve` replicas, each with its own clone of one bare remote and its own `events.state_dir`, both
deliver every change event (documented: delivery state is per state directory). What a receiver needs to drop the
second copy holds: both copies carry the same `Idempotency-Key` and the very same signed body, so a receiver that
keeps the keys it has seen takes each change exactly once."""

from __future__ import annotations

from pathlib import Path

import pygit2

from evaluator.events.cloudevents import event_id
from tests.events.receiver import Receiver
from tests.server.harness import FlagRepo, ServerProcess, git, wait_until, write_config

from .test_webhooks import FILE, SECRET, features

ENVS = "  production: {storage: flags, directory: prod, default: true}\n"


def replica(root: Path, origin: Path, receiver: Receiver) -> Path:
    root.mkdir(parents=True)
    hooks = (f"events:\n  state_dir: {root / 'state'}\n  poll_interval: 100ms\n"
             f"webhooks:\n  - name: audit\n    url: {receiver.url}\n    secret: {SECRET.decode()}\n"
             "    retry: {initial: 50ms, max: 200ms}\n")
    return write_config(root, root / "repo", hooks, remote=origin.as_uri(), poll_interval="100ms",
                        environments=ENVS)


def test_two_replicas_send_each_event_with_one_key_and_one_body(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)
    origin = tmp_path / "origin.git"
    pygit2.init_repository(str(origin), bare=True, initial_head="main")
    writer = FlagRepo(tmp_path / "writer")
    writer.commit({FILE: features(10)}, "start")
    git(writer.path, "push", "-q", origin.as_uri(), "main")
    servers = [ServerProcess(replica(tmp_path / name, origin, receiver)) for name in ("a", "b")]
    try:
        for name in ("a", "b"):
            cursor = tmp_path / name / "state" / "webhooks" / "audit" / "production.cursor"
            wait_until(cursor.exists, timeout=20, what=f"replica {name}'s cursor")
        commits = []
        for rollout in (20, 30, 40):
            commits.append(writer.commit({FILE: features(rollout)}, f"rollout {rollout}%"))
            git(writer.path, "push", "-q", origin.as_uri(), "main")
        wait_until(lambda: len(receiver.keys()) >= 2 * len(commits), timeout=60, what="both replicas' events")
        received = receiver.wait_for(len(commits))
    finally:
        for server in servers:
            assert server.stop() == 0
        receiver.close()
    keys = [event_id("production", c) for c in commits]
    assert sorted(receiver.keys()) == sorted(keys * 2)  # each replica sent each event once
    for key in keys:
        first, second = (r for r in received if r.key == key)
        assert first.signature_ok and second.signature_ok
        assert first.headers["X-Flagdeck-Signature"] == second.headers["X-Flagdeck-Signature"]  # the same bytes
        assert first.body == second.body and first.body["id"] == key
    kept: dict[str, dict[str, object]] = {}  # a receiver keeping the keys it has seen
    for record in received:
        kept.setdefault(record.key, record.body)
    assert [kept[k]["subject"] for k in keys] == commits
