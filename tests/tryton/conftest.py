"""Fixtures for the Tryton connector tests; the double itself lives in tryton_fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.connector import ConnectorContext
from bridge.http import without_backoff
from connectors.tryton import TrytonConnector
from tests.tryton.tryton_fake import FakeTryton, settings


@pytest.fixture
def tryton() -> Iterator[FakeTryton]:
    fake = FakeTryton()
    with fake.serving():
        yield fake


@pytest.fixture
def make(tryton: FakeTryton) -> Iterator:
    made: list[TrytonConnector] = []

    def build(**overrides: object) -> TrytonConnector:
        conn = TrytonConnector(settings(**overrides), ConnectorContext(connection="tills"))
        made.append(conn)
        return conn

    yield build
    for conn in made:
        conn.close()


@pytest.fixture
def connector(make) -> TrytonConnector:
    return make()


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    with without_backoff():
        yield
