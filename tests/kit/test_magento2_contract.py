"""The Magento 2 connector against the contract kit, over the scripted installation of its
unit tests.

``MagentoHarness`` (in ``tests/magento2/magento_fakes.py``) wraps ``FakeMagento``: forced HTTP
answers and network failures, ``POST /V1/inventory/source-items`` calls counted as write calls
with their sizes, applied changes counted only when a source item really changes (a replay of
absolute quantities changes nothing, as Magento's data would show), orders seeded for the
``read`` suite. The fake keeps Magento's last-page-repeat bug, so the ``read`` suite also
proves that paging ends.
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
from connectors.magento2 import Magento2Connector
from tests.magento2.magento_fakes import SITE, TOKEN, FakeMagento, MagentoHarness

REPO = Path(__file__).resolve().parents[2]
CATALOG = 60
"""Simple products seeded: more than the write suite's 2 x batch limit + 1 items."""


def seeded_shop() -> FakeMagento:
    shop = FakeMagento()
    for n in range(CATALOG):
        shop.add_product(f"CONTRACT-{n:05d}", quantity=100)
    return shop


class TestMagento2Contract(ConnectorContract):
    connector_class = Magento2Connector
    mapping_file = REPO / "mappings" / "defaults" / "poslog-magento2.yaml"
    mapping_connection = "webshop"
    config: ClassVar[dict[str, Any]] = {
        "base_url": SITE,
        "access_token": TOKEN,
        "source_codes": ["default"],
        "page_size": 3,  # small pages, so streams span several of them
    }
    stock_location = "default"
    skip_suites: ClassVar[dict[str, str]] = {
        "webhooks": (
            "Magento Open Source has no webhooks (Adobe Commerce's are an optional, "
            "synchronous plugin mechanism): orders are polled on updated_at"
        )
    }

    @pytest.fixture(autouse=True)
    def _no_retry_waits(self) -> Iterator[None]:
        with without_backoff():
            yield

    def remote(self) -> Any:
        return MagentoHarness(seeded_shop()).serving()

    def stock_writes(self, count: int) -> list[StockWrite]:
        assert count <= CATALOG
        return [
            StockWrite(sku=f"CONTRACT-{n:05d}", location="default", quantity=Decimal(n % 7 + 1))
            for n in range(count)
        ]

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        """Orders read from the stream, whose decoding the ``info`` and ``mapping`` suites
        inspect."""
        harness.seed("orders", 2)
        return [event for page in connector.read("orders") for event in page.events]
