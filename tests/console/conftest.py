"""Console fixtures: seeded Git repositories with fixed authors and dates, a frozen clock, and an app factory.
Textual reads TEXTUAL_* variables when it is imported, so they are scrubbed before anything imports it."""

from __future__ import annotations

import os

for _name in [n for n in os.environ if n.startswith("TEXTUAL_")] + ["ESCDELAY"]:
    os.environ.pop(_name, None)
os.environ["TEXTUAL_ANIMATIONS"] = "none"

from collections.abc import Callable, Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from gitstore.demo import CONFIG, demo_features  # noqa: E402
from gitstore.repo import branch_ref, build_tree, cas_ref, make_commit, open_repository, tip  # noqa: E402
from gitstore.results import Author  # noqa: E402

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1, hours=2)
ADA = Author("Ada Admin", "ada@example.com")
BOB = Author("Bob Builder", "bob@example.com")
TESS = ("Tess Tester", "tess@example.com")


def commit_files(repo_path: Path, files: dict[str, bytes | None], author: Author, message: str,
                 when: datetime) -> str:
    """One commit on main with fixed author and date, so ids and dates are the same on every run."""
    repo = open_repository(repo_path)
    repo.set_head(branch_ref("main"))
    current = tip(repo, branch_ref("main"))
    base = repo[current].tree if current is not None else None
    tree = build_tree(repo, base, files)
    new = make_commit(repo, tree, [current] if current is not None else [], author, message, when=when.timestamp())
    cas_ref(repo, branch_ref("main"), current, new, "test seed")
    return str(new)


def seed(root: Path, production: str | None = None) -> Path:
    """flagdeck.yaml + a repository with the demo namespace in production and staging, then one later commit by Bob
    that enables `search-ranking` in production. Returns the config path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "flagdeck.yaml").write_text(CONFIG, encoding="utf-8")
    repo = root / "repo"
    prod = demo_features("production")
    files: dict[str, bytes | None] = {
        "README.md": b"# flags\n",
        "production/default/features.yaml": prod.encode(),
        "staging/default/features.yaml": demo_features("staging").encode(),
    }
    commit_files(repo, files, ADA, "create namespace default", T0)
    changed = production if production is not None else prod.replace(
        "    description: Ranking algorithm experiment\n    enabled: false",
        "    description: Ranking algorithm experiment\n    enabled: true")
    commit_files(repo, {"production/default/features.yaml": changed.encode()}, BOB,
                 "update flag default/search-ranking", T0 + timedelta(hours=3))
    return root / "flagdeck.yaml"


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


def open_store(config: Path):  # noqa: ANN201 - a Store, imported lazily
    from gitstore.config import load_config
    from gitstore.store import Store

    return Store(load_config(config))
