"""The console's data layer without the UI: pending edits fold, discard and commit against a real repository;
authors and roles are read the documented way; the command refuses bad input with a clear message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.authors import parse_author, resolve_author
from app.commands.console import command
from app.session import Session, relative_time
from gitstore.model.changes import Change, Kind
from gitstore.roles import parse_roles

from .helpers import NOW, TESS, head_commit, open_store


@pytest.fixture
def session(config_path: Path):  # noqa: ANN201
    store = open_store(config_path)
    s = Session(store, env="production", author=TESS, clock=lambda: NOW)
    s.open()
    yield s
    store.close()


def toggled(session: Session, key: str) -> Change:
    flag = session.find(Kind.FLAG, key)
    return Change("default", Kind.FLAG, key, flag.model_copy(update={"enabled": not flag.enabled}))


def test_edits_fold_and_undo(session: Session) -> None:
    session.stage(toggled(session, "color-theme"))
    session.stage(toggled(session, "color-theme"))  # back to the original: nothing pending
    assert session.pending == []
    session.stage(toggled(session, "color-theme"))
    flag = session.find(Kind.FLAG, "color-theme")
    session.stage(Change("default", Kind.FLAG, "color-theme", flag.model_copy(update={"name": "Colours"})))
    [pending] = session.pending
    assert pending.change.value.name == "Colours" and pending.change.value.enabled is False
    assert pending.before.enabled is True  # still compared with the committed value
    [diff] = session.file_diffs()
    assert "-    enabled: true" in diff.diff and "+  - key: color-theme" not in diff.diff


def test_proposed_message_says_create_for_new_resources(session: Session) -> None:
    flag = session.find(Kind.FLAG, "color-theme").model_copy(update={"key": "brand-new"})
    session.stage(Change("default", Kind.FLAG, "brand-new", flag))
    assert session.proposed_message() == "create flag default/brand-new"
    session.stage(toggled(session, "new-checkout"))
    assert session.proposed_message().splitlines() == [
        "updated multiple resources", "", "create flag default/brand-new", "update flag default/new-checkout"]


def test_commit_clears_only_this_environment(session: Session, config_path: Path) -> None:
    session.stage(toggled(session, "color-theme"))
    session.env = "staging"
    session.load()
    session.stage(toggled(session, "color-theme"))
    session.env = "production"
    result = session.commit()
    assert [p.env for p in session.pending] == ["staging"]
    assert str(head_commit(config_path).id) == result.commit
    assert session.find(Kind.FLAG, "color-theme").enabled is False  # reloaded after the commit


def test_document_view_of_a_pending_namespace_delete(session: Session) -> None:
    session.stage(Change("default", Kind.NAMESPACE, "default", None))
    assert session.document() is None and session.namespace_keys() == []


def test_viewer_cannot_stage(config_path: Path) -> None:
    store = open_store(config_path)
    try:
        s = Session(store, env="production", roles={"production": "viewer", "staging": "editor"})
        s.open()
        assert not s.can_edit() and s.can_edit("staging") and not s.is_admin("staging")
        with pytest.raises(PermissionError):
            s.stage(toggled(s, "color-theme"))
    finally:
        store.close()


def test_authors_and_roles_from_the_environment() -> None:
    assert parse_author("Ada Lovelace <ada@example.com>") == ("Ada Lovelace", "ada@example.com")
    assert parse_author("alice") == ("alice", "alice@localhost")
    assert resolve_author(None, {"FLAGDECK_USER": "Bob <bob@x.org>"}) == ("Bob", "bob@x.org")
    assert resolve_author("Carol <c@x.org>", {"FLAGDECK_USER": "Bob <bob@x.org>"}) == ("Carol", "c@x.org")
    assert parse_roles('{"*": "editor"}') == {"*": "editor"} and parse_roles("") is None
    assert relative_time(NOW - timedelta(minutes=5), NOW) == "5m ago"
    assert relative_time(NOW - timedelta(days=40), NOW) == (NOW - timedelta(days=40)).strftime("%Y-%m-%d")


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--env", "nope"], {}, "no environment 'nope'"),
    (["--user", "<>"], {}, "not an author"),
    ([], {"FLAGDECK_ROLES": "{editor}"}, "FLAGDECK_ROLES is not JSON"),
    ([], {"FLAGDECK_ROLES": '["editor"]'}, "must be a JSON object"),
])
def test_command_refuses_bad_input(config_path: Path, args: list[str], env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(command, ["--config", str(config_path), *args], env=env)
    assert result.exit_code != 0 and message in result.output, result.output


def changed_lines(diff: str) -> list[str]:
    """Hunk headers and changed lines of a unified diff (file names and context left out)."""
    return [line for line in diff.splitlines()
            if line.startswith(("@@", "+", "-")) and not line.startswith(("+++", "---"))]


def test_the_review_diff_is_the_commit_diff_with_real_line_numbers(session: Session, config_path: Path) -> None:
    """Issue 14 #5: the diff shown before committing is the file diff Git records, line numbers included, for an
    edit in the middle of the file and a new flag together."""
    session.stage(toggled(session, "new-checkout"))
    flag = session.find(Kind.FLAG, "maintenance-mode").model_copy(update={"key": "brand-new", "name": "Brand new"})
    session.stage(Change("default", Kind.FLAG, "brand-new", flag))
    [diff] = session.file_diffs()
    assert diff.path == "production/default/features.yaml" and diff.edits == 2 and not diff.error
    assert diff.diff.startswith("--- a/production/default/features.yaml\n+++ b/production/default/features.yaml\n")
    session.commit()
    from .helpers import commit_diff

    assert changed_lines(diff.diff) == changed_lines(commit_diff(head_commit(config_path)))
    assert "namespace: default" not in diff.diff  # not a made-up document of one resource


def test_a_refused_commit_is_said_in_the_review_diff(session: Session) -> None:
    flag = session.find(Kind.FLAG, "color-theme")
    broken = flag.model_copy(update={"rules": (flag.rules[0].model_copy(update={"distributions": ()}),
                                               *flag.rules[1:]), "variants": ()})  # rules naming no variant left
    session.stage(Change("default", Kind.FLAG, "color-theme", broken))
    [diff] = session.file_diffs()
    assert diff.diff == "" and diff.error.startswith("The store would refuse this commit")


def test_read_ahead_reads_what_the_first_load_reads_and_leaves_errors_to_it(config_path: Path) -> None:
    """`flagdeck console` reads the environment in a thread while its modules load (`Session.read_ahead`): the
    store then has that snapshot, with the namespace's plain data ready and nothing built; an environment it may
    not read, or one that does not exist, raises nothing there (the first load says so)."""
    import gc

    store = open_store(config_path)
    try:
        s = Session(store, env="production", author=TESS, clock=lambda: NOW, freeze_gc=True)
        frozen = gc.get_freeze_count()
        s.read_ahead()
        assert gc.isenabled() and gc.get_freeze_count() > frozen
        snap = store.snapshot("production")
        found = snap.namespaces["default"]
        assert found.source is not None and found.source.built == ()
        assert s.open(build=False) is snap  # the first load finds it read
        assert s.plain_flags() is not None
        Session(store, env="nowhere").read_ahead()
    finally:
        store.close()
    from gitstore.config import load_config
    from gitstore.store import Store

    roles = {"staging": "viewer"}
    with Store(load_config(config_path), roles=roles) as viewer:
        with pytest.raises(Exception, match="production"):
            viewer.snapshot("production")
        Session(viewer, env="production", roles=roles).read_ahead()
