"""Shared fixtures. Every test uses real Git repositories under tmp_path; nothing of ours is mocked."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "flipt"


@pytest.fixture
def flipt_fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"Flipt fixtures not found at {FIXTURES} (shared/ must sit beside the project)")
    return FIXTURES
