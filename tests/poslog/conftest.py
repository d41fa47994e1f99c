"""Shared fixtures for the POSLog tests: hand-written files and the real-producer corpus."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.connector import Rejection
from bridge.model import Sale
from connectors.poslog import ParseStats, parse

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus" / "poslog"

Parsed = tuple[list[Sale], list[Rejection], ParseStats]


def _parse_path(path: Path, **options: Any) -> Parsed:
    with path.open("rb") as handle:
        reader = parse(handle, path.name, **options)
        items = list(reader)
    sales = [i for i in items if isinstance(i, Sale)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    return sales, rejections, reader.stats


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def parse_file() -> Callable[..., Parsed]:
    """Parse a whole file: (sales, rejections, stats)."""
    return _parse_path


@pytest.fixture
def corpus() -> Path:
    """The real POSLog files; skipped when absent, except on CI where they must be there."""
    if not CORPUS.is_dir():
        message = f"POSLog corpus not found at {CORPUS.resolve()} (see shared/corpus/README.md)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    return CORPUS
