"""Shared fixtures. Every test uses real Git repositories under tmp_path; nothing of ours is mocked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "flipt"  # Flipt's own test documents, vendored with their licence


@pytest.fixture
def flipt_fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True, scope="session")
def _config_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The cache of validated configurations (gitstore/config_cache.py) in this run's temporary directory, for the
    commands the tests run too, instead of the user's ~/.cache."""
    os.environ["FLAGDECK_CONFIG_CACHE"] = str(tmp_path_factory.mktemp("config-cache"))
    yield
