"""Fixtures for the Square connector tests; the double itself lives in square_fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import tenacity.nap

from bridge.connector import ConnectorContext
from connectors.square import SquareConnector
from tests.square.square_fake import FakeSquare, settings


class FixedClock:
    """A settable UTC clock for ``occurred_at`` and the first read's start."""

    def __init__(self, now: str = "2026-11-23T09:00:00+00:00") -> None:
        self.now = datetime.fromisoformat(now)

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def context() -> ConnectorContext:
    return ConnectorContext(connection="tills")


@pytest.fixture
def square() -> Iterator[FakeSquare]:
    fake = FakeSquare()
    with fake.serving():
        yield fake


@pytest.fixture
def connector(
    square: FakeSquare, context: ConnectorContext, clock: FixedClock
) -> Iterator[SquareConnector]:
    conn = SquareConnector(settings(), context, clock=clock)
    yield conn
    conn.close()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """``bridge.http`` retries a 5xx or a timeout twice with a short backoff: keep the
    retries, skip the waiting (tenacity sleeps through ``time.sleep``)."""
    monkeypatch.setattr(tenacity.nap.time, "sleep", lambda seconds: None)
