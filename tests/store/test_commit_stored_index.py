"""The first commit of a Store in a new process (`flagdeck flag set` after another one, a console opened after a
commit; issue 18) reads the text index the previous process kept for the blob it wrote (`gitstore.edit.stored`)
instead of scanning the text: each commit is a real process on a real repository; what it writes, read by a fresh
loader, is the model after both edits with the comment above flag-350 kept; without the kept index it scans."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.edit import stored
from gitstore.format.loader import load_document
from gitstore.git import kept_indexes
from gitstore.git.refs import branch_ref
from gitstore.model.changes import Change, Kind
from gitstore.store import Store

from .conftest import ALICE, single_env_config
from .test_commit_splice import FILE, _seed

# one process: a Store opened, the snapshot and document read, flag KEY toggled; prints how many times the text
# was scanned whole and how many indexes were read from disk
TOGGLE = """
import sys
from gitstore.edit import locate, stored
stored.SAVED_FROM = 0  # the test's file (~0.3 MB) counts as big
scans, loads = [], []
scan, load = locate.scan, stored.load
locate.scan = lambda text: scans.append(1) or scan(text)
def counted(*args):
    found = load(*args)
    loads.extend([1] if found is not None else [])
    return found
stored.load = counted
from gitstore.config import load_config
from gitstore.edit import stored
from gitstore.model.changes import Change, Kind
from gitstore.store import Author, Store
with Store(load_config(sys.argv[1])) as store:
    flag = store.snapshot("production").document("default").flag(sys.argv[2])
    change = Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
    store.commit("production", [change], Author("T", "t@example.com"))
print(len(scans), len(loads))
"""


def _toggle(config: Path, key: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", TOGGLE, str(config), key], capture_output=True, text=True,
                          check=True)
    scans, loads = done.stdout.split()
    return int(scans), int(loads)


def _head_text(repo: Path) -> str:
    git = pygit2.Repository(str(repo))
    commit = git[git.references[branch_ref("main")].target]
    return git[commit.tree[FILE].id].data.decode()


def test_the_next_process_reads_the_index_the_last_one_kept(tmp_path: Path) -> None:
    config = single_env_config(tmp_path / "env")
    with Store(load_config(config)) as store:
        _seed(store)
    repo = tmp_path / "env" / "repo"
    assert _toggle(config, "flag-10") == (1, 0)  # nothing kept yet: scanned once
    kept = list((repo / "flagdeck" / "parse-cache").glob("*.index"))
    assert len(kept) == 1
    assert _toggle(config, "flag-20") == (0, 1)  # the index the first process kept: no scan
    text = _head_text(repo)
    doc = load_document(text, FILE).document
    assert doc is not None
    assert [f.key for f in doc.flags if f.enabled] == ["flag-10", "flag-20"]
    assert "  # a comment above flag-350\n  - key: flag-350\n" in text
    for path in (repo / "flagdeck" / "parse-cache").glob("*.index"):
        path.unlink()
    assert _toggle(config, "flag-30") == (1, 0)  # none kept: scanned, as before
    doc = load_document(_head_text(repo), FILE).document
    assert doc is not None and [f.key for f in doc.flags if f.enabled] == ["flag-10", "flag-20", "flag-30"]


def _indexes(repo: Path) -> list[str]:
    return sorted(path.name.split(".")[0] for path in (repo / "flagdeck" / "parse-cache").glob("*.index"))


def _head_blob(repo: Path) -> str:
    git = pygit2.Repository(str(repo))
    return str(git[git.references[branch_ref("main")].target].tree[FILE].id)


def _toggle_in(store: Store, key: str) -> None:
    flag = store.snapshot("production").document("default").flag(key)
    assert flag is not None
    store.commit("production", [Change("default", Kind.FLAG, key, flag.model_copy(
        update={"enabled": not flag.enabled}))], ALICE)


def test_commits_back_to_back_keep_one_index_when_the_store_closes(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving waits for the commits to pause (it would slow the next one): two commits in a row save nothing
    meanwhile, and closing the store saves the index of the last file written, once."""
    monkeypatch.setattr(stored, "SAVED_FROM", 0)
    monkeypatch.setattr(kept_indexes, "IDLE", 60.0)
    config = single_env_config(tmp_path / "env")
    repo = tmp_path / "env" / "repo"
    store = Store(load_config(config))
    try:
        _seed(store)
        _toggle_in(store, "flag-1")
        _toggle_in(store, "flag-2")
        assert _indexes(repo) == []
    finally:
        store.close()
    assert _indexes(repo) == [_head_blob(repo)]


def test_an_index_is_kept_once_commits_pause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored, "SAVED_FROM", 0)
    monkeypatch.setattr(kept_indexes, "IDLE", 0.05)
    config = single_env_config(tmp_path / "env")
    repo = tmp_path / "env" / "repo"
    with Store(load_config(config)) as store:
        _seed(store)
        _toggle_in(store, "flag-3")
        deadline = time.monotonic() + 20
        while not _indexes(repo) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _indexes(repo) == [_head_blob(repo)]


def test_a_process_that_ends_without_closing_its_store_keeps_the_index(tmp_path: Path) -> None:
    config = single_env_config(tmp_path / "env")
    with Store(load_config(config)) as store:
        _seed(store)
    unclosed = TOGGLE.replace("with Store(load_config(sys.argv[1])) as store:", "store = Store(load_config(sys.argv[1]))"
                              "\nif True:")
    assert unclosed != TOGGLE
    subprocess.run([sys.executable, "-c", unclosed, str(config), "flag-5"], capture_output=True, check=True)
    assert _indexes(tmp_path / "env" / "repo") == [_head_blob(tmp_path / "env" / "repo")]
