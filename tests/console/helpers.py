"""Small helpers for the console tests: wait for workers, read the repository back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pygit2

from gitstore.demo import CONFIG, demo_features
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import build_tree, cas_ref, make_commit, open_repository
from gitstore.results import Author


async def open_segments(app: Any, pilot: Any) -> None:
    """From the console's first screen to the segment list (`g`)."""
    from app.screens.segments import SegmentsScreen

    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    assert isinstance(app.screen, SegmentsScreen)


async def settle(pilot: Any) -> None:
    """Let messages and workers finish (twice: a finished worker may start another). A worker that failed is not
    an error here: the console shows its failure (an error dialog), which the test checks."""
    for _ in range(3):
        await pilot.pause()
        # return_exceptions: a failed worker still listed must not end the wait for the others (it raced)
        await asyncio.gather(*(worker.wait() for worker in pilot.app.workers), return_exceptions=True)
    await jobs_handled(pilot)
    await pilot.pause()
    await tables_sized(pilot)


async def jobs_handled(pilot: Any, limit: float = 5.0) -> None:
    """Wait (at most `limit` seconds) until the screen has handled every finished Git job (`BaseScreen.run_git`'s
    `then`, which fills its tables): a finished worker's state message can still be queued on a loaded machine, and
    rows added after `tables_sized` looked were drawn at their columns' old widths (seen: the history snapshot with
    "Bob Bu" in a column as wide as its label)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline and any(w.is_finished for w in getattr(pilot.app.screen, "_git_jobs", ())):
        await pilot.pause(0.01)


async def tables_sized(pilot: Any, limit: float = 5.0) -> None:
    """Wait (at most `limit` seconds) until every DataTable on the screen has sized its columns to the rows added:
    Textual does that only on the table's next Idle event, which a loaded machine can deliver after the snapshot is
    taken (seen: the history snapshot with its columns still at their labels' width)."""
    from textual.widgets import DataTable

    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline and any(table._require_update_dimensions
                                         for table in pilot.app.screen.query(DataTable)):
        await pilot.pause(0.02)


def head_commit(config: Path) -> pygit2.Commit:
    repo = pygit2.Repository(str(config.parent / "repo"))
    return repo[repo.references["refs/heads/main"].target]


def commit_diff(commit: pygit2.Commit) -> str:
    return commit.tree.diff_to_tree(commit.parents[0].tree, swap=True).patch or ""


T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1, hours=2)
ADA = Author("Ada Admin", "ada@example.com")
BOB = Author("Bob Builder", "bob@example.com")
TESS = ("Tess Tester", "tess@example.com")


def commit_files(repo_path: Path, files: dict[str, bytes | None], author: Author, message: str,
                 when: datetime) -> str:
    """One commit on main with fixed author and date, so ids and dates are the same on every run."""
    repo = open_repository(repo_path)
    repo.set_head(branch_ref("main"))
    current = tip(repo, branch_ref("main"))
    base = repo[current].tree if current is not None else None
    tree = build_tree(repo, base, files)
    new = make_commit(repo, tree, [current] if current is not None else [], author, message, when=when.timestamp())
    cas_ref(repo, branch_ref("main"), current, new, "test seed")
    return str(new)


def seed(root: Path, production: str | None = None) -> Path:
    """flagdeck.yaml + a repository with the demo namespace in production and staging, then one later commit by Bob
    that enables `search-ranking` in production. Returns the config path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "flagdeck.yaml").write_text(CONFIG, encoding="utf-8")
    repo = root / "repo"
    prod = demo_features("production")
    files: dict[str, bytes | None] = {
        "README.md": b"# flags\n",
        "production/default/features.yaml": prod.encode(),
        "staging/default/features.yaml": demo_features("staging").encode(),
    }
    commit_files(repo, files, ADA, "create namespace default", T0)
    changed = production if production is not None else prod.replace(
        "    description: Ranking algorithm experiment\n    enabled: false",
        "    description: Ranking algorithm experiment\n    enabled: true")
    commit_files(repo, {"production/default/features.yaml": changed.encode()}, BOB,
                 "update flag default/search-ranking", T0 + timedelta(hours=3))
    return root / "flagdeck.yaml"


def open_store(config: Path) -> Any:
    from gitstore.config import load_config
    from gitstore.store import Store

    return Store(load_config(config))
