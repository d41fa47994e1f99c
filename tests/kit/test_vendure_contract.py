"""The Vendure connector against the contract kit, over the scripted Admin GraphQL API of its
unit tests (``tests/vendure/vendure_fake.py``, shapes taken from a real Vendure 3.7.3).

The fake counts each ``updateProductVariants`` call with its items and an applied change only
when a value really changes, so a replay of absolute quantities shows no change; orders are
seeded in pairs sharing one ``updatedAt`` second, read over several pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bridge.connector import Connector, InboundEvent, StockWrite
from bridge.http import without_backoff
from bridge.testing import ConnectorContract
from connectors.vendure import VendureConnector
from tests.vendure.vendure_fake import LOCATION, PASSWORD, URL, USER, FakeVendure

REPO = Path(__file__).resolve().parents[2]
CATALOG = 260
"""Variants seeded: more than the write suite's 2 x batch limit + 1 items."""


def seeded_shop() -> FakeVendure:
    shop = FakeVendure()
    for n in range(CATALOG):
        shop.add_variant(f"CONTRACT-{n:05d}", stock=100)
    return shop


class TestVendureContract(ConnectorContract):
    connector_class = VendureConnector
    mapping_file = REPO / "mappings" / "defaults" / "tryton-vendure.yaml"
    mapping_connection = "webshop"
    config: ClassVar[dict[str, Any]] = {
        "admin_api_url": URL,
        "username": USER,
        "password": PASSWORD,
        "page_size": 3,  # small pages, so the stream spans several of them
    }
    stock_location = LOCATION
    skip_suites: ClassVar[dict[str, str]] = {
        "webhooks": (
            "Vendure has no outbound webhooks (only its in-process EventBus, which needs a "
            "server plugin): orders are polled from the Admin API's orders list"
        )
    }

    @pytest.fixture(autouse=True)
    def _no_retry_waits(self) -> Iterator[None]:
        with without_backoff():
            yield

    def remote(self) -> Any:
        return seeded_shop().serving()

    def stock_writes(self, count: int) -> list[StockWrite]:
        assert count <= CATALOG
        return [
            StockWrite(sku=f"CONTRACT-{n:05d}", location=LOCATION, quantity=Decimal(n % 7 + 1))
            for n in range(count)
        ]

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        harness.seed("orders", 2)
        return [event for page in connector.read("orders") for event in page.events]
