"""The first commit of a Store in a new process (`flagdeck flag set` after another one, a console opened after a
commit; issue 18) reads the text index the previous process kept for the blob it wrote (`gitstore.edit.stored`)
instead of scanning the text: each commit is a real process on a real repository; what it writes, read by a fresh
loader, is the model after both edits with the comment above flag-350 kept; without the kept index it scans."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pygit2

from gitstore.config import load_config
from gitstore.format.loader import load_document
from gitstore.git.refs import branch_ref
from gitstore.store import Store

from .conftest import single_env_config
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
