"""The journeys' set-up: a project root with the demo `flagdeck init` makes, the real `flagdeck console` (the
installed script) in a tmux terminal of a given size, and the repository read with pygit2."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pygit2
import pytest
from tmux_terminal import Tmux

from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import (
    ComparisonType,
    Constraint,
    Distribution,
    Flag,
    MatchType,
    Rule,
    Segment,
    SegmentRef,
    Variant,
)
from gitstore.store import Author, Store

BIN = Path(sys.executable).parent
AUTHOR = "Ada Lovelace <ada@example.com>"

pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root after `make run`'s first step (`flagdeck init .flagdeck`)."""
    init_demo(tmp_path / ".flagdeck")
    return tmp_path


@pytest.fixture
def repo(project: Path) -> pygit2.Repository:
    return pygit2.Repository(str(project / ".flagdeck" / "repo"))


@pytest.fixture
def console(project: Path) -> Iterator[Callable[..., Tmux]]:
    """Open `flagdeck console` on the demo in staging, as Ada, in a terminal of `size`; wait for the flag list."""
    terminals: list[Tmux] = []

    def open_(size: tuple[int, int], *extra: str, env: dict[str, str] | None = None) -> Tmux:
        command = [str(BIN / "flagdeck"), "console", "--env", "staging", "--user", AUTHOR, *extra]
        terminal = Tmux(command, *size, cwd=project,
                        env={"FLAGDECK_STATE_DIR": str(project / "state"), **(env or {})})
        terminals.append(terminal)
        terminal.wait_screen(lambda lines: any(" of " in line and "flags  │  sorted by" in line for line in lines),
                             "the flag list", timeout=30)
        return terminal

    yield open_
    for terminal in terminals:
        terminal.kill()


def commit_banner(project: Path, env: str = "staging") -> str:
    """What journey 1 makes, committed by a teammate: flag new-banner (blue, green; enabled) whose one rule sends
    segment eu-users (region = eu) 50/50 to its variants. The new commit's id."""
    segment = Segment(key="eu-users", name="EU users", match_type=MatchType.ALL,
                      constraints=(Constraint(type=ComparisonType.STRING, property="region", operator="eq",
                                              value="eu"),))
    flag = Flag(key="new-banner", name="New banner", enabled=True, variants=(Variant(key="blue"), Variant(key="green")),
                rules=(Rule(segment=SegmentRef(keys=("eu-users",)),
                            distributions=(Distribution(variant="blue", rollout=50),
                                           Distribution(variant="green", rollout=50))),))
    with Store(load_config(project / ".flagdeck" / "flagdeck.yaml")) as store:
        changes = [Change("default", Kind.SEGMENT, "eu-users", segment), Change("default", Kind.FLAG, "new-banner", flag)]
        return store.commit(env, changes, Author("Grace Hopper", "grace@example.com")).commit
