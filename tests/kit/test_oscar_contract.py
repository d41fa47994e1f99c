"""The Django Oscar connector against the contract kit, over the scripted oscar-api admin API
of its unit tests (``tests/oscar/oscar_fake.py``, shapes taken from a real Oscar 4.2.1 +
django-oscar-api 3.3.0).

The fake counts each ``PATCH /api/admin/stockrecords/<id>/`` as a write call of one item and
an applied change only when a field really changes, so a replay of absolute quantities shows
no change; orders are seeded in pairs sharing one ``date_placed``, over several DRF pages.
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
from connectors.oscar import OscarConnector
from tests.oscar.oscar_fake import PARTNER, PASSWORD, SITE, USER, FakeOscar

REPO = Path(__file__).resolve().parents[2]
CATALOG = 60
"""Products seeded: more than the write suite's 2 x batch limit + 1 items."""


def seeded_shop() -> FakeOscar:
    shop = FakeOscar()
    for n in range(CATALOG):
        shop.add_product(f"CONTRACT-{n:05d}", stock=100)
    return shop


class TestOscarContract(ConnectorContract):
    connector_class = OscarConnector
    mapping_file = REPO / "mappings" / "defaults" / "tryton-oscar.yaml"
    mapping_connection = "webshop"
    config: ClassVar[dict[str, Any]] = {
        "base_url": SITE,
        "username": USER,
        "password": PASSWORD,
        "partner": PARTNER,
        "page_size": 3,  # small pages, so the stream spans several of them
    }
    stock_location = PARTNER
    skip_suites: ClassVar[dict[str, str]] = {
        "webhooks": (
            "Django Oscar has no outbound webhooks (only in-process Django signals): "
            "orders are polled from /api/admin/orders/"
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
            StockWrite(sku=f"CONTRACT-{n:05d}", location=PARTNER, quantity=Decimal(n % 7 + 1))
            for n in range(count)
        ]

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        harness.seed("orders", 2)
        return [event for page in connector.read("orders") for event in page.events]
