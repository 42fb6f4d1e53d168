"""The parse cache keeps a bounded number of versions of one file: a process following a busy branch (an evaluator
seeing a commit a second) must not keep a parse of every version it ever read (each ~20x its source in memory)."""

from __future__ import annotations

from gitstore.git.snapshot import VERSIONS_PER_FILE, ParseCache

PATH = "ns/features.yaml"


def version(n: int) -> bytes:
    return f'version: "1.6"\nnamespace: ns\nflags:\n  - key: f\n    name: version {n}\n    enabled: true\n'.encode()


def test_old_versions_of_a_file_are_let_go_and_the_used_ones_kept() -> None:
    cache = ParseCache()
    other = cache.get("other-blob", "other/features.yaml", lambda: version(0).replace(b"ns", b"other"))
    for n in range(3 * VERSIONS_PER_FILE):
        cache.get(f"blob-{n}", PATH, lambda n=n: version(n))
        cache.get("head-of-another-branch", PATH, lambda: version(-1))  # read at every snapshot: stays
    parses = cache.parses
    newest = cache.get(f"blob-{3 * VERSIONS_PER_FILE - 1}", PATH, lambda: version(-2))
    assert newest.document is not None and newest.document.flags[0].name == f"version {3 * VERSIONS_PER_FILE - 1}"
    cache.get("head-of-another-branch", PATH, lambda: version(-2))
    assert cache.get("other-blob", "other/features.yaml", lambda: b"") is other  # another file is not touched
    assert cache.parses == parses, "recent versions and the other branch's head are still parsed"
    oldest = cache.get("blob-0", PATH, lambda: version(0))
    assert cache.parses == parses + 1 and oldest.document is not None, "the oldest version was let go"
