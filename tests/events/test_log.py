"""`flagdeck log` on a real repository (the demo, a bare repository): commits made through the store (with a
break-glass trailer), by hand with the git CLI in a clone pushed back, and with pygit2 all show who, when, what
changed before → after and their trailers; --flag, --namespace, --since (commit or time) and --json; the change
sets equal what the store's diff of the two versions says."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.commands.log import parse_since
from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.model.changes import Change, Kind, diff_documents
from gitstore.store import Store
from tests.server.harness import GIT_ENV, ROOT
from tests.store.conftest import ALICE, put_flag
from tests.store.test_snapshot import raw_commit

PROD = "production/default/features.yaml"


def flagdeck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def hand_commit(repo: Path, work: Path, edit: tuple[str, str], message: str) -> str:
    """Clone the bare repository, edit the production file with sed-like replacement, commit and push by hand."""
    env = {**GIT_ENV, "GIT_AUTHOR_NAME": "Hand Editor", "GIT_AUTHOR_EMAIL": "hand@example.com"}
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True, env=env)
    path = work / PROD
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    for args in (["commit", "-qam", message], ["push", "-q", "origin", "HEAD:main"]):
        subprocess.run(["git", "-C", str(work), *args], check=True, env=env)
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_log_shows_every_change_with_who_when_before_after_and_trailers(tmp_path: Path) -> None:
    config = init_demo(tmp_path / "demo")
    config.write_text(config.read_text().replace("directory: production, default: true}",
                                                 "directory: production, default: true, protect: true}"))
    assert "protect: true" in config.read_text()
    repo = tmp_path / "demo" / "repo"
    with Store(load_config(config)) as store:
        first = store.head("production")
        with store.break_glass("production", "dark mode for the launch"):
            made = store.commit("production", [put_flag("dark-mode", enabled=True)], ALICE).commit
        doc = store.snapshot("production").document("default")
        assert doc is not None and doc.flag("maintenance-mode") is not None
        off = doc.flag("search-ranking")
        assert off is not None
        renamed = off.model_copy(update={"name": "Search ranking v2", "enabled": True})
        with store.break_glass("production", "incident 42"):
            glass = store.commit("production", [Change("default", Kind.FLAG, "search-ranking", renamed)], ALICE).commit
    hand = hand_commit(repo, tmp_path / "clone", ("percentage: 10", "percentage: 25"), "checkout to 25%\n\n"
                       "Schedule: ramp-7\nOn-behalf-of: carol")
    gone = raw_commit(repo, {"staging/default/features.yaml": None}, "staging file removed by pygit2")
    records = raw_commit(repo, {"production/.flagdeck/schedules.yaml": b"schedules: []\n"}, "schedule S-1\n\n"
                         "Schedule: S-1")  # a file Flipt does not read: a commit, but no resource changed

    done = flagdeck("log", "--config", str(config), "--env", "production")
    assert done.returncode == 0, done.stderr
    records_block, *blocks = done.stdout.strip().split("\n\n")
    assert records_block.splitlines()[1:] == ["    Schedule: S-1", "  (no flag, segment or namespace changed)"]
    assert records_block.startswith(records[:8])
    assert [b.split()[0] for b in blocks[:3]] == [hand[:8], glass[:8], made[:8]]  # newest first; pygit2's: staging
    assert blocks[0].splitlines() == [
        blocks[0].splitlines()[0], "    Schedule: ramp-7 · On-behalf-of: carol",
        "  ~ flag default/new-checkout updated", "      rollouts[1].threshold.percentage: 10.0 → 25.0"]
    assert "Hand Editor <hand@example.com>  checkout to 25%" in blocks[0]
    assert "Alice Example <alice@example.com>" in blocks[1] and "Break-glass: incident 42" in blocks[1]
    assert '      name: "Search ranking" → "Search ranking v2"' in blocks[1]
    assert "      enabled: false → true" in blocks[1]
    assert "  + flag default/dark-mode created" in blocks[2]

    # JSON, one flag: the before/after values are the file's, and equal the store's own diff
    found = json.loads(flagdeck("log", "--config", str(config), "--flag", "search-ranking", "--json").stdout)
    assert [c["commit"] for c in found] == [glass, first]
    with Store(load_config(config)) as store:
        before = store.snapshot("production", made).document("default")
        after = store.snapshot("production", glass).document("default")
    (change,) = found[0]["changes"]
    (expected,) = diff_documents("default", before, after)
    assert change["key"] == expected.key == "search-ranking" and change["action"] == "updated"
    assert change["after"]["name"] == "Search ranking v2" and change["before"]["name"] == "Search ranking"
    assert found[0]["trailers"] == [["Break-glass", "incident 42"]]
    assert found[1]["changes"][0]["action"] == "created"  # the demo's first commit made it

    # --since a commit, --since a time, --namespace, staging's own log
    since = json.loads(flagdeck("log", "--config", str(config), "--since", made, "--json").stdout)
    assert [c["commit"] for c in since] == [records, hand, glass]
    recent = json.loads(flagdeck("log", "--config", str(config), "--since", "1h", "--json", "--limit", "2").stdout)
    assert [c["commit"] for c in recent] == [records, hand]
    assert flagdeck("log", "--config", str(config), "-n", "nope").stdout.startswith("no changes in production")
    staging = json.loads(flagdeck("log", "--config", str(config), "--env", "staging", "--json").stdout)
    assert staging[0]["commit"] == gone and staging[0]["author_email"] == "alice@example.com"
    assert {c["action"] for c in staging[0]["changes"]} == {"deleted"}
    assert {c["kind"] for c in staging[0]["changes"]} == {"flag", "segment", "namespace"}
    assert all(c["before"] is not None for c in staging[0]["changes"])  # what was deleted, as it was
    bad = flagdeck("log", "--config", str(config), "--env", "nowhere")
    assert bad.returncode == 1 and "nowhere" in bad.stderr
    unknown = flagdeck("log", "--config", str(config), "--since", "not-a-commit")
    assert unknown.returncode == 1 and "not-a-commit" in unknown.stderr


@pytest.mark.parametrize(("text", "ago"), [("7d", timedelta(days=7)), ("12h", timedelta(hours=12)),
                                           ("30m", timedelta(minutes=30)), ("2w", timedelta(weeks=2))])
def test_since_reads_durations_ago(text: str, ago: timedelta) -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert parse_since(text, now) == (now - ago, None)


def test_since_reads_dates_and_otherwise_a_commit() -> None:
    assert parse_since("2026-12-01") == (datetime(2026, 12, 1, tzinfo=UTC), None)
    assert parse_since("2026-12-01T10:00:00+01:00")[0] == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert parse_since("HEAD~2") == (None, "HEAD~2")
