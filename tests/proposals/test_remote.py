"""Proposals through a real remote (a bare repository) and two clones: a proposal made in one is seen, approved
and merged from the other; a record made while the remote is down stays local and is pushed later."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pygit2

from gitstore.demo import init_demo
from gitstore.proposals.ledger import RECORDS_BRANCH, ledger_of
from gitstore.proposals.records import State
from gitstore.proposals.service import Proposals
from gitstore.store import Store

from .conftest import ALICE, BOB, bare, open_as, protect, toggle


def clones(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The demo pushed to a bare origin, and a second configuration cloning it."""
    origin = bare(tmp_path / "origin.git")
    first = protect(init_demo(tmp_path / "a"), remote=str(origin))
    second = tmp_path / "b" / "flagdeck.yaml"
    second.parent.mkdir()
    shutil.copy(first, second)
    with open_as(first, ALICE) as store:
        store.push("production")
    return origin, first, second


def refs(origin: Path) -> set[str]:
    return set(pygit2.Repository(str(origin)).listall_references())


def test_made_in_one_clone_approved_and_merged_from_the_other(tmp_path: Path) -> None:
    origin, first, second = clones(tmp_path)
    with open_as(first, ALICE, {"*": "editor"}) as a, open_as(second, BOB) as b:
        a.branch("production", "fix", ALICE)
        a.commit("fix", [toggle(a, "fix")], ALICE)
        assert Proposals(a).propose("production", "fix", "Toggle it").id == "P-1"
        assert f"refs/heads/{RECORDS_BRANCH}" in refs(origin)
        status = Proposals(b).get("P-1")  # fetched by b
        assert (status.state, status.proposal.author) == (State.OPEN, "Alice Example <alice@example.com>")
        assert Proposals(b).approve("P-1").state is State.APPROVED
        assert Proposals(a).get("P-1").state is State.APPROVED  # a fetches b's approval
        was = a.snapshot("production").document("default").flag("new-checkout").enabled
        merged = Proposals(b).merge("P-1")
        assert merged.commit.pushed and merged.branch_deleted
        assert "refs/heads/flipt/production/fix" not in refs(origin)
        assert Proposals(a).get("P-1").state is State.MERGED
        a.fetch("production")
        assert a.head("production") == merged.commit.commit
        assert a.snapshot("production").document("default").flag("new-checkout").enabled is not was
        b.branch("production", "more", BOB)
        b.commit("more", [toggle(b, "more", "maintenance-mode")], BOB)
        assert Proposals(b).propose("production", "more", "More").id == "P-2"
        assert [s.id for s in Proposals(a).all("production")] == ["P-1", "P-2"]


def test_a_record_made_while_the_remote_is_down_is_pushed_later(tmp_path: Path) -> None:
    origin, first, second = clones(tmp_path)
    with open_as(first, ALICE, {"*": "editor"}) as a, open_as(second, BOB) as b:
        a.branch("production", "fix", ALICE)
        a.commit("fix", [toggle(a, "fix")], ALICE)
        Proposals(a).propose("production", "fix", "Toggle it")
        away = origin.with_name("away.git")
        origin.rename(away)  # the remote is down
        Proposals(a).comment("P-1", "written offline")
        state = ledger_of(a).sync_state("production")
        assert (state.ahead, state.reachable) == (1, False)  # the comment waits to be pushed
        assert [(env, s.ahead) for env, s in Proposals(a).unpushed()] == [("production", 1)]
        assert [c.text for c in Proposals(a).get("P-1").proposal.comments] == ["written offline"]
        away.rename(origin)
        state = ledger_of(a).sync("production")
        assert (state.ahead, state.reachable) == (0, True)
        assert [c.text for c in Proposals(b).get("P-1").proposal.comments] == ["written offline"]


def test_proposals_made_at_once_in_two_clones_get_distinct_ids(tmp_path: Path) -> None:
    """Both clones propose at the same moment: the one whose push finds the remote moved makes its record again on
    the remote's tip (a record of the same number there is a collision, never an overwrite)."""
    origin, first, second = clones(tmp_path)
    with open_as(first, ALICE) as a, open_as(second, BOB) as b:
        for store, names in ((a, ("a1", "a2", "a3")), (b, ("b1", "b2", "b3"))):
            for name in names:
                store.branch("production", name)
                store.commit(name, [toggle(store, name)])
        b.fetch("production")
        barrier = threading.Barrier(2)
        made: dict[str, list[str]] = {"a": [], "b": []}

        def propose(store: Store, who: str) -> None:
            barrier.wait()
            for i in (1, 2, 3):
                made[who].append(Proposals(store).propose("production", f"{who}{i}", f"{who} {i}").id)

        threads = [threading.Thread(target=propose, args=(a, "a")), threading.Thread(target=propose, args=(b, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        ids = made["a"] + made["b"]
        assert sorted(ids, key=lambda i: int(i[2:])) == [f"P-{n}" for n in range(1, 7)]
        listed = {s.id: s.proposal.branch for s in Proposals(a).all("production")}
        assert listed == dict(zip(ids, ["a1", "a2", "a3", "b1", "b2", "b3"], strict=True))


def test_record_changes_made_offline_are_merged_with_the_remotes_record_by_record(tmp_path: Path) -> None:
    origin, first, second = clones(tmp_path)
    with open_as(first, ALICE, {"*": "editor"}) as a, open_as(second, BOB) as b:
        for store, name in ((a, "fix"), (a, "offline"), (b, "online")):
            store.branch("production", name)
            store.commit(name, [toggle(store, name)])
        Proposals(a).propose("production", "fix", "Toggle it")
        away = origin.with_name("away.git")
        origin.rename(away)  # a loses the remote; b goes on
        Proposals(a).comment("P-1", "written offline")
        assert Proposals(a).propose("production", "offline", "Made offline").id == "P-2"
        away.rename(origin)  # the remote is back
        b.fetch("production")
        Proposals(b).approve("P-1")  # b changes P-1 too, and numbers its new proposal P-2 as well
        assert Proposals(b).propose("production", "online", "Made online").id == "P-2"
        listed = {s.id: s for s in Proposals(a).all("production")}  # a syncs: its changes collide, and are kept
        assert {i: s.proposal.branch for i, s in listed.items()} == {"P-1": "fix", "P-2": "online", "P-3": "offline"}
        one = listed["P-1"]
        assert [c.text for c in one.proposal.comments] == ["written offline"] and one.state is State.APPROVED
        seen = {s.id: s for s in Proposals(b).all("production")}  # and pushed
        assert seen.keys() == listed.keys() and [c.text for c in seen["P-1"].proposal.comments] == [
            "written offline"]
        assert [r for r in pygit2.Repository(str(first.parent / "repo")).listall_references()
                if "conflicts" in r] == []
