"""Fixtures for the Shopify connector tests; the doubles themselves live in shopify_fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from shopify_fakes import GRAPHQL_URL, FakeClock, ScriptedShop, make_config

from bridge.connector import ConnectorContext
from connectors.shopify import ShopifyConnector


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def context() -> ConnectorContext:
    return ConnectorContext(connection="shopify-test")


@pytest.fixture
def connector(context: ConnectorContext, clock: FakeClock) -> Iterator[ShopifyConnector]:
    conn = ShopifyConnector(make_config(), context, clock=clock, sleep=clock.sleep)
    yield conn
    conn.close()


@pytest.fixture
def catalog() -> dict[str, str]:
    """1,000 SKUs (with leading zeros, as tills print them) -> inventory item GIDs."""
    return {
        f"{n:06d}": f"gid://shopify/InventoryItem/{271878346596884000 + n}" for n in range(1000)
    }


@pytest.fixture
def shop(catalog: dict[str, str]) -> Iterator[ScriptedShop]:
    scripted = ScriptedShop(catalog)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, GRAPHQL_URL, callback=scripted)
        yield scripted
