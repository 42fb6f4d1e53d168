"""History of a namespace and of one flag, promotion between environments (revert and restore: test_revert.py)."""

from __future__ import annotations

import pygit2
import pytest

from gitstore.errors import ConflictError, NotFoundError
from gitstore.model.changes import Change, Kind
from gitstore.store import Store

from .conftest import ALICE, BOB, put_flag


def test_history_of_a_namespace_and_of_one_flag(store: Store) -> None:
    c1 = store.commit("production", [put_flag("a"), put_flag("b")], ALICE).commit
    c2 = store.commit("production", [put_flag("a", True)], BOB).commit
    c3 = store.commit("production", [put_flag("b", True)], ALICE).commit
    namespace = store.history("production", "default")
    assert [e.commit for e in namespace] == [c3, c2, c1]
    assert (namespace[1].author_name, namespace[1].author_email) == ("Bob Example", "bob@example.com")
    assert namespace[1].message == "update flag default/a"
    assert namespace[0].time.tzinfo is not None
    assert "--- a/default/features.yaml" in namespace[1].diff
    changed = [line for line in namespace[1].diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert changed == ["-    enabled: false", "+    enabled: true"]
    assert namespace[2].diff.startswith("--- /dev/null\n+++ b/default/features.yaml")
    assert [e.commit for e in store.history("production", "default", flag="a")] == [c2, c1]
    assert [e.commit for e in store.history("production", "default", flag="b")] == [c3, c1]
    assert [e.commit for e in store.history("production", "default", limit=1)] == [c3]
    assert store.history("production", "missing") == []


def test_promote_a_flag_with_its_segments_and_a_whole_namespace(demo_store: Store) -> None:
    staging = demo_store.snapshot("staging").document("default")
    prod_before = demo_store.snapshot("production").document("default")
    assert staging.flag("search-ranking") != prod_before.flag("search-ranking")
    result = demo_store.promote("staging", "production", "default", flag="search-ranking", author=ALICE)
    prod = demo_store.snapshot("production").document("default")
    assert prod.flag("search-ranking") == staging.flag("search-ranking")
    assert prod.flag("new-checkout") == prod_before.flag("new-checkout")  # only the one flag moved
    repo = pygit2.Repository(str(demo_store.config.storage["local"].path))
    assert repo[result.commit].message.startswith("update flag default/search-ranking\n\nPromotes default/"
                                                  "search-ranking from staging")
    demo_store.commit("staging", [put_flag("brand-new", True)], ALICE)
    whole = demo_store.promote("staging", "production", "default", author=BOB)
    assert demo_store.snapshot("production").document("default").flags == \
        demo_store.snapshot("staging").document("default").flags
    assert len(repo[whole.commit].parents) == 1 and repo[whole.commit].author.name == "Bob Example"
    assert not demo_store.promote("staging", "production", "default").created
    with pytest.raises(NotFoundError):
        demo_store.promote("staging", "production", "nope")


def test_revert_refuses_to_overwrite_a_concurrent_change(store: Store) -> None:
    c1 = store.commit("production", [put_flag("a")], ALICE).commit
    store.commit("production", [put_flag("a", True)], BOB)
    snap = store.snapshot("production")
    store.commit("production", [Change("default", Kind.FLAG, "a", None)], BOB)  # lands after the snapshot
    with pytest.raises(ConflictError):
        store.commit("production", [put_flag("a", name="Changed")], ALICE, based_on=snap.commit)
    assert store.restore("production", "default", c1, flag="a").created


def test_promote_between_environments_in_separate_repositories(tmp_path) -> None:
    from gitstore.config import load_config

    from .conftest import write_config

    path = write_config(tmp_path, "storage:\n  prod: {path: prod.git}\n  stage: {path: stage.git}\n"
                                  "environments:\n  production: {storage: prod, default: true}\n"
                                  "  staging: {storage: stage}\n")
    with Store(load_config(path)) as store:
        store.commit("staging", [put_flag("ready", True), put_flag("not-yet")], ALICE)
        assert store.snapshot("production").document("default") is None
        result = store.promote("staging", "production", "default", flag="ready", author=BOB)
        prod = store.snapshot("production")
        assert prod.commit == result.commit and [f.key for f in prod.document("default").flags] == ["ready"]
        assert store.head("staging") != store.head("production")
        assert [e.author_name for e in store.history("production", "default")] == ["Bob Example"]


def test_history_without_diffs_reads_the_files_the_store_has_parsed_without_parsing_them(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Who changed what and when (the console's first screen, the live refresh) needs no diff, and the versions the
    store has already parsed (its snapshots, the parse cache on disk) are not parsed again: at 100,000 flags each
    took seconds (issue 18)."""
    from gitstore.git import history

    c1 = store.commit("production", [put_flag("a"), put_flag("b")], ALICE).commit
    c2 = store.commit("production", [put_flag("a", True)], BOB).commit
    whole = store.history("production", "default")
    assert [e.commit for e in store.history("production", "default", flag="a", diffs=False)] == [c2, c1]
    store.snapshot("production", c1), store.snapshot("production", c2)  # both versions parsed by the store

    def no_parse(*args: object) -> object:
        raise AssertionError("a version the store has parsed was parsed again")

    monkeypatch.setattr(history, "parse_documents", no_parse)
    brief = store.history("production", "default", diffs=False)
    assert [(e.commit, e.message, e.author_name, e.time) for e in brief] == [
        (e.commit, e.message, e.author_name, e.time) for e in whole] and [e.commit for e in brief] == [c2, c1]
    assert all(e.diff == "" for e in brief) and all(e.diff for e in whole)
