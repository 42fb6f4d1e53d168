"""Shared fixtures. Every test uses real Git repositories under tmp_path; nothing of ours is mocked."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "flipt"  # Flipt's own test documents, vendored with their licence


@pytest.fixture
def flipt_fixtures() -> Path:
    return FIXTURES
