"""Snapshots: discovery, caching by commit and by blob, invalid namespaces reported while the rest is served."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.errors import NotFoundError
from gitstore.git.refs import branch_ref
from gitstore.git.repo import build_tree, cas_ref, make_commit
from gitstore.store import Store

from .conftest import ALICE, put_flag, single_env_config

VALID = b'version: "1.6"\nnamespace: {ns}\nflags:\n  - key: f\n    name: F\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n'


def valid(ns: str) -> bytes:
    return VALID.replace(b"{ns}", ns.encode())


def raw_commit(path: Path, files: dict[str, bytes | None], message: str = "raw edit") -> str:
    """A commit made outside the store (as another tool would), straight onto refs/heads/main."""
    repo = pygit2.Repository(str(path))
    ref = branch_ref("main")
    parent = repo.references[ref].target
    tree = build_tree(repo, repo[parent].tree, files)
    commit = make_commit(repo, tree, [parent], ALICE, message)
    cas_ref(repo, ref, parent, commit, message)
    return str(commit)


def test_demo_environments_are_read_from_their_directories(demo_store: Store) -> None:
    prod, staging = demo_store.snapshot("production"), demo_store.snapshot("staging")
    assert prod.commit == staging.commit == demo_store.head("production")
    assert set(prod.namespaces) == {"default"}
    ns = prod.namespaces["default"]
    assert ns.path == "production/default/features.yaml"
    assert len(ns.digest) == 40 and ns.text.startswith("# Demo namespace of the production")
    assert ns.document is not None and all(p.severity != "error" for p in ns.problems)
    assert prod.document("default").flag("search-ranking").enabled is False
    assert staging.document("default").flag("search-ranking").enabled is True
    assert {f.key for f in prod.document("default").flags} >= {"maintenance-mode", "color-theme"}


def test_same_commit_is_served_from_cache_and_only_changed_files_are_parsed(tmp_path: Path) -> None:
    config = single_env_config(tmp_path)
    store = Store(load_config(config))
    try:
        repo = tmp_path / "repo"
        raw_commit(repo, {f"ns{i}/features.yaml": valid(f"ns{i}") for i in range(5)})
        first = store.snapshot("production")
        assert store.cache.parses == 5 and len(first.namespaces) == 5
        assert store.snapshot("production") is first
        raw_commit(repo, {"ns3/features.yaml": valid("ns3") + b"    description: changed\n"})
        second = store.snapshot("production")
        assert store.cache.parses == 6  # one file changed, one parse
        assert second.commit != first.commit
        assert second.namespaces["ns0"].document is first.namespaces["ns0"].document  # parsed once, reused
        assert second.document("ns3").flag("f").description == "changed"
        raw_commit(repo, {"README.md": b"only the readme changed\n"})
        third = store.snapshot("production")
        assert third.namespaces is second.namespaces and store.cache.parses == 6
        assert store.snapshot("production", first.commit) is first  # older commits by id
        assert store.snapshot("production", first.commit[:10]).commit == first.commit
        with pytest.raises(NotFoundError):
            store.snapshot("production", "0" * 40)
    finally:
        store.close()


def test_invalid_namespace_is_reported_and_the_others_are_served(tmp_path: Path) -> None:
    store = Store(load_config(single_env_config(tmp_path)))
    try:
        raw_commit(tmp_path / "repo", {
            "good/features.yaml": valid("good"),
            "bad/features.yaml": b'version: "1.6"\nnamespace: bad\nflags:\n  - key: f\n    name: [\n',
        })
        snap = store.snapshot("production")
        assert snap.document("good") is not None
        bad = snap.namespaces["bad"]
        assert bad.document is None and not bad.valid
        assert bad.problems and all(p.file == "bad/features.yaml" for p in bad.problems)
        assert any(p.file == "bad/features.yaml" for p in snap.problems)
    finally:
        store.close()


def test_discovery_reads_every_feature_file_exactly_one_level_down(tmp_path: Path) -> None:
    """As Flipt v2's evaluation: features.yaml, .yml and .json of one directory are all read."""
    store = Store(load_config(single_env_config(tmp_path)))
    try:
        json_doc = b'{"version": "1.6", "namespace": "js", "flags": []}'
        raw_commit(tmp_path / "repo", {
            "features.yaml": valid("root"),
            "deep/er/features.yaml": valid("deeper"),
            "pick/features.yml": valid("other"),
            "pick/features.yaml": valid("pick"),
            "yml/features.yml": valid("yml"),
            "js/features.json": json_doc,
            "notes/README.md": b"not a namespace\n",
        })
        snap = store.snapshot("production")
        assert set(snap.namespaces) == {"pick", "other", "yml", "js"}
        assert snap.namespaces["pick"].path == "pick/features.yaml"
        assert snap.namespaces["other"].path == "pick/features.yml"
        assert snap.namespaces["js"].document is not None
    finally:
        store.close()


def test_a_fresh_repository_gets_flipts_initial_commit(store: Store) -> None:
    snap = store.snapshot("production")
    assert snap.namespaces == {} and snap.problems == ()
    repo = pygit2.Repository(str(store.config.storage["local"].path))
    assert repo.is_bare
    assert repo[snap.commit].message == "add initial README"


def test_commit_then_snapshot_sees_the_change(store: Store) -> None:
    result = store.commit("production", [put_flag("dark-mode", True)])
    snap = store.snapshot("production")
    assert snap.commit == result.commit
    assert snap.document("default").flag("dark-mode").enabled is True


def test_a_written_file_is_not_parsed_again_and_equals_a_cold_parse(demo_config: Path) -> None:
    with Store(load_config(demo_config)) as store:
        store.snapshot("production")
        parses = store.cache.parses
        store.commit("production", [put_flag("maintenance-mode", True, name="Maintenance mode")], ALICE)
        store.commit("production", [put_flag("brand-new")], ALICE)
        warm = store.snapshot("production")
        assert store.cache.parses == parses
    with Store(load_config(demo_config)) as cold_store:
        cold = cold_store.snapshot("production")
        assert cold_store.cache.parses == 1  # production/default only
    assert warm.commit == cold.commit
    for key, ns in cold.namespaces.items():
        assert warm.namespaces[key].document == ns.document
        assert (warm.namespaces[key].digest, warm.namespaces[key].text) == (ns.digest, ns.text)
        assert warm.namespaces[key].problems == ns.problems
