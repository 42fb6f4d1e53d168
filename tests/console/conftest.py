"""Console fixtures: seeded Git repositories with fixed authors and dates, a frozen clock, and an app factory.
Textual reads TEXTUAL_* variables when it is imported, so they are scrubbed before anything imports it."""

from __future__ import annotations

import os
import sys

for _name in [n for n in os.environ if n.startswith("TEXTUAL_") and n != "TEXTUAL_SNAPSHOT_TEMPDIR"] + ["ESCDELAY"]:
    os.environ.pop(_name, None)
os.environ["TEXTUAL_ANIMATIONS"] = "none"

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from gitstore.results import Author  # noqa: E402

from .helpers import NOW, TESS, seed  # noqa: E402

SNAPSHOT_PYTHON = (3, 11)  # the snapshots were rendered on this Python; others may render a cell differently


@pytest.fixture(autouse=True, scope="session")
def snapshot_python(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--snapshot-update", default=False) and sys.version_info[:2] != SNAPSHOT_PYTHON:
        pytest.exit(f"refusing --snapshot-update on Python {sys.version_info[0]}.{sys.version_info[1]}: "
                    f"the console snapshots belong to Python {SNAPSHOT_PYTHON[0]}.{SNAPSHOT_PYTHON[1]}", 2)


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The console remembers recent evaluation contexts in a state directory: keep each test's to itself."""
    state = tmp_path / "state"
    monkeypatch.setenv("FLAGDECK_STATE_DIR", str(state))
    return state


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return seed(tmp_path / "flags")


@pytest.fixture
def make_app(config_path: Path) -> Iterator[Callable[..., object]]:
    """`make_app(roles=None, env=None, namespace="default", config=None)` -> a ConsoleApp on a real Store with a
    frozen clock, the author Tess, theme pinned and the cursor not blinking."""
    from app.console import ConsoleApp
    from app.session import Session
    from gitstore.config import load_config
    from gitstore.store import Store

    stores: list[Store] = []

    def factory(roles: dict[str, str] | None = None, env: str | None = None, namespace: str = "default",
                config: Path | None = None) -> ConsoleApp:
        store = Store(load_config(config or config_path), roles=roles, identity=Author(*TESS))
        stores.append(store)
        session = Session(store, env=env or store.config.default_environment, namespace=namespace, author=TESS, roles=roles, clock=lambda: NOW)
        return ConsoleApp(session, theme="textual-dark", cursor_blink=False)

    yield factory
    for store in stores:
        store.close()
