"""The PrestaShop connector against the contract kit, over the in-memory Webservice.

``ShopHarness`` (in ``tests/prestashop/prestashop_fakes.py``) wraps ``FakePrestaShop``: forced
HTTP answers and network failures, stock PUTs counted as write calls (one item each, the
Webservice has no batch write) and applied changes, orders seeded for the ``read`` suite.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from bridge.connector import Connector, ConnectorContext, InboundEvent, StockWrite
from bridge.testing import ConnectorContract
from connectors.prestashop import PrestaShopConnector
from tests.prestashop.prestashop_fakes import (
    NOW,
    FakeClock,
    FakePrestaShop,
    ShopHarness,
    make_config,
)

REPO = Path(__file__).resolve().parents[2]
CATALOG = 120
"""Products seeded: more than the write suite's 2 x batch limit + 1 items."""


def seeded_shop() -> FakePrestaShop:
    shop = FakePrestaShop()
    for n in range(CATALOG):
        shop.add_product(n + 1, f"CONTRACT-{n:05d}")
        shop.add_stock(n + 1, n + 1, quantity=100)
    return shop


class TestPrestaShopContract(ConnectorContract):
    mapping_file = REPO / "mappings" / "defaults" / "poslog-prestashop.yaml"
    mapping_connection = "webshop"
    connector_class = PrestaShopConnector
    config: ClassVar[dict[str, Any]] = make_config()
    stock_location = "1"
    skip_suites: ClassVar[dict[str, str]] = {
        "webhooks": "PrestaShop has no webhooks: orders are polled on date_upd"
    }

    def remote(self) -> Any:
        return ShopHarness(seeded_shop()).serving()

    def make_connector(self, harness: Any) -> Connector:
        clock = FakeClock()
        return PrestaShopConnector(
            self.connector_settings(harness),
            ConnectorContext(connection="contract"),
            clock=clock,
            sleep=clock.sleep,
            now=lambda: NOW,
        )

    def stock_writes(self, count: int) -> list[StockWrite]:
        assert count <= CATALOG
        return [
            StockWrite(sku=f"CONTRACT-{n:05d}", location="1", quantity=Decimal(n % 7 + 1))
            for n in range(count)
        ]

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        """Orders read from the stream, whose decoding the ``info`` suite inspects."""
        harness.seed("orders", 2)
        return [event for page in connector.read("orders") for event in page.events]
