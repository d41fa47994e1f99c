"""Fixtures for the Odoo connector tests; the double itself lives in odoo_fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bridge.connector import ConnectorContext
from bridge.http import without_backoff
from connectors.odoo import OdooConnector
from tests.odoo.odoo_fake import FakeOdoo, settings


class FixedClock:
    """A settable UTC clock for the first read's start."""

    def __init__(self, now: str = "2024-03-07T12:00:00+00:00") -> None:
        self.now = datetime.fromisoformat(now)

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo()
    with fake.serving():
        yield fake


@pytest.fixture
def make(odoo: FakeOdoo, clock: FixedClock) -> Iterator:
    made: list[OdooConnector] = []

    def build(**overrides: object) -> OdooConnector:
        conn = OdooConnector(
            settings(**overrides), ConnectorContext(connection="tills"), clock=clock
        )
        made.append(conn)
        return conn

    yield build
    for conn in made:
        conn.close()


@pytest.fixture
def connector(make) -> OdooConnector:
    return make()


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """``bridge.http`` retries a 5xx or a timeout twice with a short backoff: keep the
    retries, skip the waiting."""
    with without_backoff():
        yield
