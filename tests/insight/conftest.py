"""Insight fixtures: the console's seeded repository and app factory (tests/console), with the state directory
(recent contexts) in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from console.conftest import config_path, make_app  # noqa: F401  (fixtures shared with the console tests)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("FLAGDECK_STATE_DIR", str(path))
    return path
