"""Fixtures for the WooCommerce connector tests; the scripted shop lives in woo_fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.connector import ConnectorContext
from connectors.woocommerce import WooCommerceConnector
from tests.woocommerce.woo_fakes import FakeWoo, make_config, without_retry_waits


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    without_retry_waits(monkeypatch)


@pytest.fixture
def context() -> ConnectorContext:
    return ConnectorContext(connection="webshop")


@pytest.fixture
def connector(context: ConnectorContext) -> Iterator[WooCommerceConnector]:
    conn = WooCommerceConnector(make_config(), context)
    yield conn
    conn.close()


@pytest.fixture
def woo() -> Iterator[FakeWoo]:
    """An empty scripted shop answering every call; tests add products and orders."""
    fake = FakeWoo()
    with fake.serving():
        yield fake
