"""Fixtures for the PrestaShop connector tests; the doubles live in prestashop_fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.connector import ConnectorContext
from connectors.prestashop import PrestaShopConnector
from tests.prestashop.prestashop_fakes import NOW, FakeClock, FakePrestaShop, make_config


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def context() -> ConnectorContext:
    return ConnectorContext(connection="prestashop-test")


@pytest.fixture
def connector(context: ConnectorContext, clock: FakeClock) -> Iterator[PrestaShopConnector]:
    conn = PrestaShopConnector(
        make_config(), context, clock=clock, sleep=clock.sleep, now=lambda: NOW
    )
    yield conn
    conn.close()


@pytest.fixture
def shop() -> Iterator[FakePrestaShop]:
    fake = FakePrestaShop()
    with fake.serving():
        yield fake
