"""Which file holds a namespace (issue 11 #2): one rule for the loader and the writer, as Flipt v2's evaluation
reads a repository; an edit goes to the file that holds the namespace; two files claiming one namespace are an
error naming both; every commit is read back before the branch moves and refused unless it serves the change."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.errors import ValidationError
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import NamespaceInfo, Rollout, RolloutThreshold
from gitstore.store import Store

from .conftest import ALICE, boolean_flag, put_flag, single_env_config
from .test_snapshot import raw_commit, valid


def _store(tmp_path: Path, files: dict[str, bytes]) -> Store:
    store = Store(load_config(single_env_config(tmp_path)))
    raw_commit(tmp_path / "repo", files)
    return store


def _changed_paths(tmp_path: Path, commit: str) -> list[str]:
    repo = pygit2.Repository(str(tmp_path / "repo"))
    new = repo[commit]
    return sorted(p.delta.new_file.path for p in new.tree.diff_to_tree(new.parents[0].tree, swap=True))


def test_an_edit_goes_to_the_file_that_holds_the_namespace_and_is_served(tmp_path: Path) -> None:
    with _store(tmp_path, {"legacy/features.yaml": valid("shop")}) as store:
        snap = store.snapshot("production")
        assert set(snap.namespaces) == {"shop"} and snap.namespaces["shop"].path == "legacy/features.yaml"
        warning = snap.namespaces["shop"].problems[0]
        assert (warning.severity, warning.line) == ("warning", 2) and "holds namespace 'shop'" in warning.message
        result = store.commit("production", [put_flag("f", False, namespace="shop")], ALICE)
        assert _changed_paths(tmp_path, result.commit) == ["legacy/features.yaml"]  # not shop/features.yaml
        assert store.snapshot("production").document("shop").flag("f").enabled is False


def test_a_document_without_namespace_is_default_wherever_it_lives(tmp_path: Path) -> None:
    body = valid("x").replace(b"namespace: x\n", b"")
    with _store(tmp_path, {"team/features.yaml": body}) as store:
        assert set(store.snapshot("production").namespaces) == {"default"}
        result = store.commit("production", [put_flag("g", True)], ALICE)
        assert _changed_paths(tmp_path, result.commit) == ["team/features.yaml"]
        assert store.snapshot("production").document("default").flag("g").enabled is True
        with pytest.raises(ValidationError, match="cannot create namespace 'team' here: the file holds namespace "
                                                  "'default'"):
            store.commit("production", [Change("team", Kind.NAMESPACE, "team", NamespaceInfo(key="team"))], ALICE)


def test_two_files_claiming_one_namespace_make_it_invalid_naming_both(tmp_path: Path) -> None:
    files = {"a/features.yaml": valid("joint"), "b/features.yml": valid("joint"), "c/features.yaml": valid("c")}
    with _store(tmp_path, files) as store:
        snap = store.snapshot("production")
        joint = snap.namespaces["joint"]
        assert joint.document is None and snap.namespaces["c"].document is not None
        assert [(p.file, p.line) for p in joint.problems if p.severity == "error"] == [("a/features.yaml", 2), ("b/features.yml", 2)]
        assert all("a/features.yaml, b/features.yml" in p.message for p in joint.problems if p.severity == "error")
        head = store.head("production")
        with pytest.raises(ValidationError, match="declared by 2 files"):
            store.commit("production", [put_flag("f", False, namespace="joint")], ALICE)
        assert store.head("production") == head
        store.commit("production", [put_flag("f", False, namespace="c")], ALICE)  # the others are editable
        assert store.snapshot("production").document("c").flag("f").enabled is False


def test_a_yaml_stream_holding_two_namespaces_is_served_and_edited_in_place(tmp_path: Path) -> None:
    stream = valid("one") + b"---\n" + valid("two")
    with _store(tmp_path, {"one/features.yaml": stream}) as store:
        snap = store.snapshot("production")
        assert set(snap.namespaces) == {"one", "two"}
        result = store.commit("production", [put_flag("f", False, namespace="two")], ALICE)
        assert _changed_paths(tmp_path, result.commit) == ["one/features.yaml"]
        snap = store.snapshot("production")
        assert snap.document("two").flag("f").enabled is False and snap.document("one").flag("f").enabled is True
        with pytest.raises(ValidationError, match="shares this file with 'one'"):
            store.commit("production", [Change("two", Kind.NAMESPACE, "two", None)], ALICE)


def test_a_commit_that_would_not_serve_its_change_is_refused_and_nothing_is_committed(tmp_path: Path) -> None:
    with _store(tmp_path, {"shop/features.yaml": valid("shop")}) as store:
        head = store.head("production")
        renamed = Change("shop", Kind.NAMESPACE, "shop", NamespaceInfo(key="elsewhere", name="Shop"))
        with pytest.raises(ValidationError, match="namespace 'shop' would be served from no file without the "
                                                  "change; nothing was committed"):
            store.commit("production", [renamed], ALICE)
        assert store.head("production") == head


def test_history_follows_the_file_that_holds_the_namespace(tmp_path: Path) -> None:
    with _store(tmp_path, {"legacy/features.yaml": valid("shop")}) as store:
        store.commit("production", [put_flag("f", False, namespace="shop")], ALICE)
        entries = store.history("production", "shop", flag="f")
        assert entries and "a/legacy/features.yaml" in entries[0].diff and "-    enabled: true" in entries[0].diff


def test_a_threshold_above_100_is_refused_by_the_store(tmp_path: Path) -> None:
    with _store(tmp_path, {"shop/features.yaml": valid("shop")}) as store:
        flag = boolean_flag("f").model_copy(update={"rollouts": (
            Rollout(threshold=RolloutThreshold(percentage=150, value=True)),)})
        with pytest.raises(ValidationError, match=r"flags\[0\]\.rollouts\[0\]\.threshold\.percentage: invalid "
                                                  r"value 150 \(out of bound"):
            store.commit("production", [Change("shop", Kind.FLAG, "f", flag)], ALICE)
