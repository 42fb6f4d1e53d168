"""Writes: Flipt's commit messages and authors, no-op and invalid writes, rebase or conflict, roles."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.errors import AccessDenied, ConflictError, NotFoundError, ValidationError
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import FlagType, NamespaceInfo, Rule, SegmentRef
from gitstore.store import Author, Store

from .conftest import ALICE, BOB, boolean_flag, git, put_flag, single_env_config, write_config


def repo_of(store: Store) -> pygit2.Repository:
    return pygit2.Repository(str(store.config.storage["local"].path))


def test_messages_use_flipts_verbs_and_the_author_is_also_the_committer(store: Store) -> None:
    first = store.commit("production", [put_flag("dark-mode")], ALICE)
    second = store.commit("production", [put_flag("dark-mode", True)], BOB)
    third = store.commit("production", [Change("default", Kind.FLAG, "dark-mode", None), put_flag("a"),
                                        put_flag("b")], ALICE)
    repo = repo_of(store)
    assert repo[first.commit].message == "create flag default/dark-mode"
    assert repo[second.commit].message == "update flag default/dark-mode"
    assert repo[third.commit].message == ("updated multiple resources\n\ndelete flag default/dark-mode\n"
                                          "create flag default/a\ncreate flag default/b")
    commit = repo[second.commit]
    assert (commit.author.name, commit.author.email) == ("Bob Example", "bob@example.com")
    assert (commit.committer.name, commit.committer.email) == ("Bob Example", "bob@example.com")
    assert commit.author.offset == 0 and commit.parents[0].id == repo[first.commit].id
    log = git(store.config.storage["local"].path, "log", "--format=%an|%ce|%s", "main")
    assert log.splitlines()[0] == "Alice Example|alice@example.com|updated multiple resources"
    git(store.config.storage["local"].path, "fsck", "--strict")


def test_author_falls_back_to_store_identity_then_config_identity_then_flipt(tmp_path: Path) -> None:
    path = single_env_config(tmp_path / "a")
    with Store(load_config(path), identity=Author("Console User", "console@example.com")) as store:
        result = store.commit("production", [put_flag("x")])
        assert repo_of(store)[result.commit].author.email == "console@example.com"
    path.write_text(path.read_text() + "identity: {name: Flag Bot, email: bot@example.com}\n")
    with Store(load_config(path)) as store:
        result = store.commit("production", [put_flag("y")])
        assert repo_of(store)[result.commit].author.name == "Flag Bot"
    # No identity anywhere (HOME without a git config): Flipt's own fallback.
    home = tmp_path / "home"
    home.mkdir()
    script = ("import sys; from gitstore.store import open_store; from gitstore.model.changes import Change, Kind;"
              "from gitstore.model.documents import Flag;"
              "s = open_store(sys.argv[1]);"
              "r = s.commit('production', [Change('default', Kind.FLAG, 'z', Flag(key='z', name='Z'))]);"
              "print(r.commit); s.close()")
    bare = single_env_config(tmp_path / "b")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"}
    out = subprocess.run([_python(), "-c", script, str(bare)], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    commit = pygit2.Repository(str(tmp_path / "b" / "repo"))[out]
    assert (commit.author.name, commit.author.email) == ("flipt", "flipt[bot]@noreply.flipt.io")


def _python() -> str:
    import sys

    return sys.executable


def test_a_no_op_change_creates_no_commit(store: Store) -> None:
    first = store.commit("production", [put_flag("same", True)], ALICE)
    again = store.commit("production", [put_flag("same", True)], ALICE, based_on=first.commit)
    assert again.commit == first.commit and not again.created
    assert store.head("production") == first.commit


def test_an_invalid_change_is_refused_and_nothing_is_committed(store: Store) -> None:
    before = store.head("production")
    bad = boolean_flag("broken").model_copy(
        update={"type": FlagType.VARIANT, "rules": (Rule(segment=SegmentRef(keys=("nobody",))),)})
    with pytest.raises(ValidationError) as caught:
        store.commit("production", [Change("default", Kind.FLAG, "broken", bad)], ALICE)
    assert "nobody" in str(caught.value)
    assert store.head("production") == before


def test_moved_branch_rebases_when_other_resources_changed_and_conflicts_on_the_same_one(store: Store) -> None:
    base = store.commit("production", [put_flag("one"), put_flag("two")], ALICE).commit
    theirs = store.commit("production", [put_flag("one", True)], BOB, based_on=base)
    assert not theirs.rebased
    mine = store.commit("production", [put_flag("two", True)], ALICE, based_on=base)
    assert mine.rebased and mine.commit != theirs.commit
    doc = store.snapshot("production").document("default")
    assert doc.flag("one").enabled and doc.flag("two").enabled
    with pytest.raises(ConflictError) as caught:
        store.commit("production", [put_flag("one", False, name="Mine")], ALICE, based_on=base)
    assert caught.value.resource == "default/one"
    assert "Bob Example" in str(caught.value)
    assert store.head("production") == mine.commit
    # The same value as the other writer chose is no conflict.
    same = store.commit("production", [put_flag("one", True)], ALICE, based_on=base)
    assert not same.created


def test_namespaces_create_update_delete_and_default_is_protected(store: Store) -> None:
    with pytest.raises(NotFoundError, match="team"):
        store.commit("production", [put_flag("x", namespace="team")])
    info = NamespaceInfo(key="team", name="Team", description="Team flags")
    created = store.commit("production", [Change("team", Kind.NAMESPACE, "team", info), put_flag("x", namespace="team")])
    repo = repo_of(store)
    assert repo[created.commit].message.splitlines() == [
        "updated multiple resources", "", "create namespace team", "create flag team/x"]
    assert store.snapshot("production").document("team").namespace.name == "Team"
    deleted = store.commit("production", [Change("team", Kind.NAMESPACE, "team", None)])
    assert repo[deleted.commit].message == "delete namespace team"
    assert "team" not in [e.name for e in repo[deleted.commit].tree]  # the directory is pruned
    store.commit("production", [put_flag("d")])
    with pytest.raises(ValidationError, match="protected"):
        store.commit("production", [Change("default", Kind.NAMESPACE, "default", None)])


def test_json_namespaces_are_read_only(tmp_path: Path) -> None:
    from .test_snapshot import raw_commit

    with Store(load_config(single_env_config(tmp_path))) as store:
        raw_commit(tmp_path / "repo", {"js/features.json": b'{"namespace": "js", "flags": []}'})
        with pytest.raises(ValidationError, match="read-only"):
            store.commit("production", [put_flag("x", namespace="js")])


def test_roles_are_enforced_in_the_store(demo_config: Path) -> None:
    config = load_config(demo_config)
    roles = {"staging": "editor", "production": "viewer"}
    with Store(config, roles=roles, identity=BOB) as store:
        assert store.snapshot("production").document("default") is not None
        with pytest.raises(AccessDenied, match="Bob Example is viewer in 'production'"):
            store.commit("production", [put_flag("x")])
        store.commit("staging", [put_flag("x")])
        with pytest.raises(AccessDenied, match="admin"):
            store.commit("staging", [Change("new", Kind.NAMESPACE, "new", NamespaceInfo(key="new"))])
        with pytest.raises(AccessDenied):
            store.promote("staging", "production", "default", "x")
    with Store(config, roles={"*": "admin"}) as store:
        store.commit("staging", [Change("new", Kind.NAMESPACE, "new", NamespaceInfo(key="new"))])
    with Store(config, roles={"staging": "viewer"}) as store, pytest.raises(AccessDenied):
        store.snapshot("production")
    with pytest.raises(ValueError):
        Store(config, roles={"*": "owner"})


def test_two_environments_in_one_repository_write_their_own_directories(demo_store: Store) -> None:
    result = demo_store.commit("staging", [put_flag("staging-only", True)], ALICE)
    repo = pygit2.Repository(str(demo_store.config.storage["local"].path))
    assert repo[result.commit].message == "create flag default/staging-only"
    assert demo_store.snapshot("staging").document("default").flag("staging-only") is not None
    assert demo_store.snapshot("production").document("default").flag("staging-only") is None


def test_config_in_another_directory(tmp_path: Path) -> None:
    path = write_config(tmp_path / "cfg", "storage: {s: {path: ../data/repo.git}}\nenvironments: {live: {}}\n")
    with Store(load_config(path)) as store:
        store.commit("live", [put_flag("x")])
    assert (tmp_path / "data" / "repo.git" / "HEAD").is_file()


def test_gc_runs_and_the_store_keeps_reading_after_a_repack(store: Store) -> None:
    from gitstore.git.repo import gc_auto

    path = store.config.storage["local"].path
    for i in range(3):
        store.commit("production", [put_flag(f"f{i}")], ALICE)
    thread = gc_auto(path)
    assert thread is not None
    thread.join(timeout=60)
    assert not thread.is_alive()
    git(path, "gc", "--quiet", "--prune=now")  # repack everything under the open store's handles
    assert list((path / "objects" / "pack").glob("*.pack"))
    git(path, "fsck", "--strict")
    result = store.commit("production", [put_flag("after-gc", True)], ALICE)
    assert store.snapshot("production").document("default").flag("after-gc").enabled
    assert store.history("production", "default", flag="f1")[0].commit != result.commit


def test_toggling_a_flag_through_the_store_is_a_one_line_diff_that_keeps_comments(demo_store: Store) -> None:
    before = demo_store.snapshot("production")
    flag = before.document("default").flag("maintenance-mode")
    result = demo_store.commit("production", [Change("default", Kind.FLAG, flag.key,
                                                     flag.model_copy(update={"enabled": True}))], ALICE,
                               based_on=before.commit)
    diff = git(demo_store.config.storage["local"].path, "diff", "--unified=0", before.commit, result.commit)
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-    enabled: false", "+    enabled: true"]
    text = demo_store.snapshot("production").namespaces["default"].text
    assert text.startswith("# Demo namespace of the production environment.")
    assert "  # A plain kill switch.\n" in text


def test_a_work_tree_clone_is_updated_unless_the_file_was_edited_by_hand(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "default").mkdir()
    (work / "default" / "features.yaml").write_text('version: "1.6"\nnamespace: default\n')
    (work / "team").mkdir()
    (work / "team" / "features.yaml").write_text('version: "1.6"\nnamespace: team\n')
    git(work, "add", "-A")
    git(work, "-c", "user.name=Me", "-c", "user.email=me@example.com", "commit", "-qm", "start")
    path = write_config(tmp_path, f"storage: {{s: {{path: {work}}}}}\nenvironments: {{live: {{}}}}\n")
    with Store(load_config(path)) as store:
        store.commit("live", [put_flag("on-disk", True)], ALICE)
        assert "key: on-disk" in (work / "default" / "features.yaml").read_text()
        assert git(work, "status", "--porcelain") == ""  # index and files match the new commit
        (work / "team" / "features.yaml").write_text('version: "1.6"\nnamespace: team\n# my edit\n')
        store.commit("live", [put_flag("x", namespace="team")], ALICE)
        assert (work / "team" / "features.yaml").read_text().endswith("# my edit\n")  # left alone
        assert "key: x" in git(work, "show", "HEAD:team/features.yaml")
