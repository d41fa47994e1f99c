"""Fixtures of the CSV connector tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder
