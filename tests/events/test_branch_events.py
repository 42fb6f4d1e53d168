"""Change events of branch environments (issue 17, gap 3): a webhook of an environment with `branches: true` also
gets the events of its branch environments (`flipt/ENV/NAME`), keyed and sourced as `ENV/NAME`, from the branch's
first commit on (even one made right after the branch was created); a webhook without it, or of another
environment, does not; `flagdeck log --env ENV/NAME` shows the branch's changes. A real `flagdeck serve` process
and a real receiver."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from evaluator.config import load_evaluator_config
from evaluator.events.cloudevents import event_id
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType
from gitstore.store import Author, Store
from tests.events.receiver import Receiver
from tests.server.harness import ROOT, FlagRepo, ServerProcess, wait_until

from .test_webhooks import FILE, SECRET, config, features

ALICE = Author("Alice Example", "alice@example.com")


def flag(key: str) -> Change:
    return Change("default", Kind.FLAG, key, Flag(key=key, name=key, type=FlagType.BOOLEAN, enabled=True))


def test_branch_environments_events_go_to_webhooks_that_opt_in(tmp_path: Path) -> None:
    receiver, plain = Receiver(SECRET), Receiver(b"plain")
    try:
        repo = FlagRepo(tmp_path / "repo")
        repo.commit({FILE: features(10), "staging/default/features.yaml": features(5)}, "start")
        extra = f"  - {{name: plain, url: '{plain.url}', secret: plain, environments: [production]}}\n"
        path = config(tmp_path, repo, receiver, extra)
        path.write_text(path.read_text().replace("    environments: [production]\n    retry",
                                                 "    environments: [production]\n    branches: true\n    retry"))
        server = ServerProcess(path)
        try:
            for name in ("audit", "plain"):
                wait_until((tmp_path / "state" / "webhooks" / name / "production.cursor").exists, timeout=20)
            with Store(load_evaluator_config(path), identity=ALICE) as store:
                store.branch("production", "fix")
                first = store.commit("fix", [flag("from-the-branch")]).commit  # before serve has seen the branch
                store.branch("staging", "other")
                store.commit("other", [flag("staging-branch")])  # audit is production's only: no event
                wait_until((tmp_path / "state" / "webhooks" / "audit" / "production%2Ffix.cursor").exists,
                           timeout=20, what="the branch's cursor")
                second = store.commit("production/fix", [flag("second")]).commit
                main = store.commit("production", [flag("on-production")]).commit
                received = receiver.wait_for(3, timeout=60)
                by_key = {r.key: r for r in received}
                assert set(by_key) == {event_id("production/fix", first), event_id("production/fix", second),
                                       event_id("production", main)}
                branch_event = by_key[event_id("production/fix", first)].body
                assert branch_event["source"] == "flagdeck://environments/production/fix"
                assert branch_event["data"]["environment"] == "production/fix"
                assert [c["key"] for c in branch_event["data"]["changes"]] == ["from-the-branch"]
                assert [r.key for r in received if r.key != event_id("production", main)] == [
                    event_id("production/fix", first), event_id("production/fix", second)]  # in order
                assert plain.wait_for(1)[0].key == event_id("production", main)
                store.delete_branch("production", "fix")
                time.sleep(0.5)  # the branch's task ends; nothing else is sent
            assert len(receiver.keys()) == 3 and plain.keys() == [event_id("production", main)]
        finally:
            assert server.stop() == 0
        assert "Traceback" not in (server.proc.stdout.read() if server.proc.stdout else "")
    finally:
        receiver.close()
        plain.close()


def test_flagdeck_log_of_a_branch_environment(tmp_path: Path) -> None:
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({FILE: features(10)}, "start")
    receiver = Receiver(SECRET)
    try:
        path = config(tmp_path, repo, receiver)
    finally:
        receiver.close()
    with Store(load_evaluator_config(path), identity=ALICE) as store:
        store.branch("production", "fix")
        made = store.commit("fix", [flag("from-the-branch")]).commit
    for env in ("fix", "production/fix"):
        done = subprocess.run([sys.executable, "-m", "app.cli", "log", "--config", str(path), "--env", env,
                               "--json", "--limit", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        (found,) = json.loads(done.stdout)
        assert found["commit"] == made and found["author_name"] == "Alice Example"
        assert [c["key"] for c in found["changes"]] == ["from-the-branch"]
