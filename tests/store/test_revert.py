"""Revert undoes one commit's change (a flag's, or everything it did to a namespace) with a new commit, or says
exactly why it cannot; restore puts a version back. Both environments of the demo mono-repository."""

from __future__ import annotations

import pygit2
import pytest

from gitstore.errors import AccessDenied, ConflictError, ValidationError
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import NamespaceInfo
from gitstore.model.revert import NothingToRevert
from gitstore.store import Store

from .conftest import ALICE, BOB, put_flag

ENVS = ["staging", "production"]


def toggled(store: Store, env: str, key: str, namespace: str = "default") -> Change:
    flag = store.snapshot(env).document(namespace).flag(key)
    return Change(namespace, Kind.FLAG, key, flag.model_copy(update={"enabled": not flag.enabled}))


def flags(store: Store, env: str, namespace: str = "default") -> dict[str, bool]:
    return {f.key: f.enabled for f in store.snapshot(env).document(namespace).flags}


def commits(store: Store) -> int:
    repo = pygit2.Repository(str(store.config.storage["local"].path))
    return len(list(repo.walk(repo.head.target)))


@pytest.mark.parametrize("env", ENVS)
def test_reverting_the_latest_commit_of_a_flag_undoes_it(demo_store: Store, env: str) -> None:
    other = next(e for e in ENVS if e != env)
    before, other_before = flags(demo_store, env), flags(demo_store, other)
    change = demo_store.commit(env, [toggled(demo_store, env, "search-ranking")], ALICE)
    assert demo_store.history(env, "default", flag="search-ranking")[0].commit == change.commit
    reverted = demo_store.revert(env, "default", change.commit, flag="search-ranking", author=BOB)
    assert reverted.created and reverted.commit != change.commit  # the bug: "reverted" as the unchanged tip
    assert flags(demo_store, env) == before and flags(demo_store, other) == other_before
    repo = pygit2.Repository(str(demo_store.config.storage["local"].path))
    message = repo[reverted.commit].message
    # git revert's form: the subject names the reverted commit's subject, the body its id (tools parse both); the
    # Flipt-form line of what changed follows, for the console's "changed" column
    assert message == (f'Revert "update flag default/search-ranking"\n\nThis reverts commit {change.commit}.\n'
                       "Only flag default/search-ranking was reverted.\n\nupdate flag default/search-ranking")
    assert repo[reverted.commit].author.name == BOB.name
    with pytest.raises(NothingToRevert, match="already as it was before"):
        demo_store.revert(env, "default", change.commit, flag="search-ranking")


def test_reverting_a_revert_reapplies_with_gits_subjects(demo_store: Store) -> None:
    change = demo_store.commit("staging", [toggled(demo_store, "staging", "search-ranking")], ALICE)
    changed = flags(demo_store, "staging")
    reverted = demo_store.revert("staging", "default", change.commit, author=BOB)
    again = demo_store.revert("staging", "default", reverted.commit, author=ALICE)
    repo = pygit2.Repository(str(demo_store.config.storage["local"].path))
    assert repo[reverted.commit].message.startswith('Revert "update flag default/search-ranking"\n\n'
                                                    f"This reverts commit {change.commit}.\n\n")
    assert "Only flag" not in repo[reverted.commit].message  # the whole namespace's change was reverted
    assert repo[again.commit].message.startswith('Reapply "update flag default/search-ranking"\n\n'
                                                 f"This reverts commit {reverted.commit}.\n\n")
    assert flags(demo_store, "staging") == changed


@pytest.mark.parametrize("env", ENVS)
def test_reverting_an_older_commit_leaves_later_changes_alone(demo_store: Store, env: str) -> None:
    before = flags(demo_store, env)
    first = demo_store.commit(env, [toggled(demo_store, env, "search-ranking")], ALICE).commit
    demo_store.commit(env, [toggled(demo_store, env, "color-theme")], BOB)
    demo_store.revert(env, "default", first, flag="search-ranking")
    now = flags(demo_store, env)
    assert now["search-ranking"] == before["search-ranking"] and now["color-theme"] != before["color-theme"]
    count = commits(demo_store)
    with pytest.raises(NothingToRevert, match="did not change flag default/color-theme"):
        demo_store.revert(env, "default", first, flag="color-theme")
    assert commits(demo_store) == count


@pytest.mark.parametrize("env", ENVS)
def test_reverting_a_namespace_undoes_everything_that_commit_did_to_it(demo_store: Store, env: str) -> None:
    before = flags(demo_store, env)
    both = demo_store.commit(env, [toggled(demo_store, env, "search-ranking"),
                                   toggled(demo_store, env, "new-checkout"), put_flag("brand-new", True)]).commit
    later = demo_store.commit(env, [toggled(demo_store, env, "color-theme")]).commit
    result = demo_store.revert(env, "default", both, author=ALICE)
    assert result.created
    now = flags(demo_store, env)
    assert "brand-new" not in now
    assert {k: now[k] for k in ("search-ranking", "new-checkout")} == {k: before[k] for k in ("search-ranking",
                                                                                              "new-checkout")}
    assert now["color-theme"] != before["color-theme"]  # the later commit stays
    with pytest.raises(NothingToRevert, match="namespace default is already as it was before"):
        demo_store.revert(env, "default", both)
    demo_store.revert(env, "default", later)
    assert flags(demo_store, env) == before


def test_a_resource_changed_again_since_is_a_conflict_naming_who(demo_store: Store) -> None:
    first = demo_store.commit("staging", [toggled(demo_store, "staging", "search-ranking")], ALICE).commit
    flag = demo_store.snapshot("staging").document("default").flag("search-ranking")
    renamed = Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"name": "Renamed"}))
    second = demo_store.commit("staging", [renamed], BOB).commit
    count = commits(demo_store)
    with pytest.raises(ConflictError, match=f"flag default/search-ranking was changed again after {first[:8]}; flag "
                                            f"default/search-ranking was last changed by Bob Example in "
                                            f"{second[:8]}") as caught:
        demo_store.revert("staging", "default", first, flag="search-ranking")
    assert caught.value.resource == "default/search-ranking"
    assert commits(demo_store) == count
    original = demo_store.snapshot("staging", first + "~1").document("default").flag("search-ranking")
    demo_store.revert("staging", "default", second)  # undo the later change, and the first one can be undone
    demo_store.revert("staging", "default", first)
    assert demo_store.snapshot("staging").document("default").flag("search-ranking") == original


def test_reverting_a_namespace_creation_deletes_it_and_a_deletion_restores_it(demo_store: Store) -> None:
    info = NamespaceInfo(key="mobile", name="Mobile")
    created = demo_store.commit("staging", [Change("mobile", Kind.NAMESPACE, "mobile", info),
                                            put_flag("dark-mode", True, namespace="mobile")]).commit
    demo_store.commit("staging", [put_flag("offline", namespace="mobile")])
    with pytest.raises(ConflictError, match=r"namespace mobile changed after \w+ \(flag offline\), so deleting"):
        demo_store.revert("staging", "mobile", created)
    added = demo_store.history("staging", "mobile")[0].commit
    demo_store.revert("staging", "mobile", added)
    demo_store.revert("staging", "mobile", created)
    assert "mobile" not in demo_store.snapshot("staging").namespaces
    gone = demo_store.head("staging")
    demo_store.revert("staging", "mobile", gone)
    doc = demo_store.snapshot("staging").document("mobile")
    assert doc.namespace == info and [f.key for f in doc.flags] == ["dark-mode"]


def test_reverting_needs_the_role_the_commit_needs(demo_config) -> None:
    from gitstore.config import load_config

    config = load_config(demo_config)
    with Store(config) as admin:
        flag = admin.commit("staging", [toggled(admin, "staging", "search-ranking")]).commit
        info = NamespaceInfo(key="default", name="Renamed")
        renamed = admin.commit("staging", [Change("default", Kind.NAMESPACE, "default", info)]).commit
    with Store(config, roles={"staging": "editor"}, identity=BOB) as editor:
        with pytest.raises(AccessDenied, match="changing a namespace needs admin"):
            editor.revert("staging", "default", renamed)
        assert editor.revert("staging", "default", flag, flag="search-ranking").created
        with pytest.raises(AccessDenied, match="Bob Example has no role in 'production'"):
            editor.revert("production", "default", flag)
    with Store(config, roles={"*": "viewer"}) as viewer, pytest.raises(AccessDenied, match="needs editor"):
        viewer.revert("staging", "default", flag, flag="search-ranking")


def test_restore_puts_a_version_back(store: Store) -> None:
    c1 = store.commit("production", [put_flag("a"), put_flag("b")], ALICE).commit
    store.commit("production", [put_flag("a", True), put_flag("b", True)], BOB)
    restored = store.restore("production", "default", c1, flag="a", author=ALICE)
    doc = store.snapshot("production").document("default")
    assert doc.flag("a").enabled is False and doc.flag("b").enabled is True
    repo = pygit2.Repository(str(store.config.storage["local"].path))
    assert repo[restored.commit].message.startswith("update flag default/a\n\nRestores default/a to commit")
    store.commit("production", [put_flag("c")], BOB)
    whole = store.restore("production", "default", c1, author=ALICE)
    assert flags(store, "production") == {"a": False, "b": False}
    assert repo[whole.commit].message.startswith("updated multiple resources")
    with pytest.raises(NothingToRevert, match="already as it was at"):
        store.restore("production", "default", c1)


def test_a_broken_version_cannot_be_reverted_resource_by_resource(store: Store) -> None:
    from .test_snapshot import raw_commit

    store.commit("production", [put_flag("a")], ALICE)
    broken = raw_commit(store.config.storage["local"].path, {"default/features.yaml": b"flags: 3\n"})
    with pytest.raises(ValidationError, match="the file is invalid at"):
        store.revert("production", "default", broken)
    with pytest.raises(ValidationError):
        store.restore("production", "default", broken)
    store.restore("production", "default", store.history("production", "default")[1].commit)
    assert store.snapshot("production").document("default").flag("a") is not None
