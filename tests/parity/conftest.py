from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bridge.parity import tills
from tests.parity.world import World, mapping_text


@pytest.fixture
def no_commit_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read sales recorded a moment ago on PostgreSQL too (no transaction is left open)."""
    monkeypatch.setattr(tills, "COMMIT_MARGIN", timedelta(0))


@pytest.fixture
def world(tmp_path: Path, database_url: str, no_commit_margin: None) -> Iterator[World]:
    w = World(tmp_path, database_url, mapping_text())
    yield w
    w.close()
