"""Fixtures: a real flag repository (prod and staging directories on one branch) and real evaluators on it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import FlagRepo, ServerThread, git, write_config
from .jwt_tokens import key_file, other_key, rsa_key  # noqa: F401  (the JWT tests' keys: fixtures)

DATA = Path(__file__).resolve().parent / "data"


def ns1(environment: str) -> str:
    return (DATA / "ns1.yaml").read_text().replace("ENVIRONMENT", environment)


def initial_files() -> dict[str, str | None]:
    return {
        "prod/ns1/features.yaml": ns1("production"),
        "staging/ns1/features.yaml": ns1("staging"),
        "prod/billing/features.yaml": (DATA / "billing.yaml").read_text(),
    }


def pushed_remote(tmp_path: Path) -> tuple[Path, FlagRepo]:
    """A bare repository `tmp_path/remote.git` holding the initial flags, pushed from the work repository returned
    with it (`tmp_path/work`)."""
    remote = tmp_path / "remote.git"
    remote.mkdir()
    git(remote, "init", "-q", "--bare", "-b", "main")
    work = FlagRepo(tmp_path / "work")
    work.commit(initial_files(), "initial flags")
    git(work.path, "push", "-q", str(remote), "main")
    return remote, work


@pytest.fixture
def flag_repo(tmp_path: Path) -> FlagRepo:
    repo = FlagRepo(tmp_path / "flags")
    repo.commit(initial_files(), "initial flags")
    return repo


@pytest.fixture
def make_server(tmp_path: Path, flag_repo: FlagRepo) -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def make(extra: str = "", max_body: int | None = None, **app_options: object) -> ServerThread:
        config = write_config(tmp_path, flag_repo.path, extra)
        server = ServerThread(config, max_body=max_body, **app_options)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., ServerThread]) -> ServerThread:
    return make_server()


@pytest.fixture
def held_preparation(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Every served namespace counts as big, and its background preparation (client snapshot written from the
    plain data, then the build: bulk keys, warnings) is held until the test sets the event returned: what a request
    meets while a big environment is still being prepared."""
    from evaluator.server import prepared

    release = threading.Event()
    build, plain = prepared.build, prepared.client_snapshot_from_data

    def held(*args: object) -> prepared.Built:
        assert release.wait(20)
        return build(*args)  # type: ignore[arg-type]

    def held_plain(*args: object) -> dict[str, object]:
        assert release.wait(20)
        return plain(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(prepared, "LATER_BYTES", 0)
    monkeypatch.setattr(prepared, "build", held)
    monkeypatch.setattr(prepared, "client_snapshot_from_data", held_plain)
    return release
