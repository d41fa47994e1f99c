"""The Square connector against the contract kit, over the scripted seller of the unit tests.

``FakeSquare`` is the whole harness: it answers the endpoints the connector calls with
Square's documented rules (cursors bound to their query, idempotency keys that replay the
first answer, 100 changes per batch), forces statuses and network failures, seeds completed
orders and signs notifications with the subscription's key over notification URL + body.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tenacity.nap

from bridge.connector import Connector, ConnectorContext, StockWrite
from bridge.testing import ConnectorContract
from connectors.square import SquareConnector
from tests.square.square_fake import LOC_NY, FakeSquare, settings

DEFAULT_MAPPING = Path(__file__).resolve().parents[2] / "mappings/defaults/square-shopify.yaml"
CONTRACT_SKUS = {f"KITVAR{n:018d}": f"CONTRACT-{n:05d}" for n in range(300)}


class TestSquareContract(ConnectorContract):
    connector_class = SquareConnector
    config = settings(page_size=3)
    stock_location = LOC_NY
    mapping_file = DEFAULT_MAPPING
    mapping_connection = "tills"

    def remote(self) -> Any:
        fake = FakeSquare()
        fake.add_variations(CONTRACT_SKUS)
        return fake.serving()

    def make_connector(self, harness: Any) -> Connector:
        return SquareConnector(
            self.connector_settings(harness), ConnectorContext(connection="contract")
        )

    def stock_writes(self, count: int) -> list[StockWrite]:
        return [
            StockWrite(sku=sku, location=LOC_NY, quantity=Decimal(n % 7 + 1))
            for n, sku in enumerate(sorted(CONTRACT_SKUS.values())[:count])
        ]

    @pytest.fixture(autouse=True)
    def _no_backoff(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        # bridge.http retries 5xx and timeouts with a short backoff: keep the retries,
        # skip the wait, so the errors suite stays fast.
        monkeypatch.setattr(tenacity.nap.time, "sleep", lambda seconds: None)
        yield
