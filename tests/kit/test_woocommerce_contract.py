"""The WooCommerce connector against the contract kit, over the scripted shop of its unit tests.

``WooHarness`` wraps ``FakeWoo`` (composition, not a copy) and adds what the kit asks of a
remote: forced HTTP answers, network failures, webhook signing and order seeding.

On replays: WooCommerce has no idempotency key. A stock write is an absolute
``stock_quantity``, so the same batch sent again sets the same numbers, and the scripted shop
counts as an applied change only a value that really changes, as WooCommerce's own data would
show. That is the property the ``write`` suite checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.connector import StockWrite
from bridge.testing import ConnectorContract
from connectors.woocommerce import WooCommerceConnector
from tests.woocommerce.woo_fakes import (
    KEY,
    SECRET,
    SITE,
    WEBHOOK_SECRET,
    FakeWoo,
    load,
    sign,
    webhook_headers,
    without_retry_waits,
)

SIMPLE = [f"WC-{n:05d}" for n in range(150)]
VARIATIONS = {
    1300: [f"WC-J-{n:03d}" for n in range(60)],
    1400: [f"WC-K-{n:03d}" for n in range(60)],
}
CATALOG = sorted(SIMPLE + VARIATIONS[1300] + VARIATIONS[1400])


class WooHarness:
    """The kit's ``RemoteHarness`` for WooCommerce, delegating normal answers to ``FakeWoo``."""

    def __init__(self) -> None:
        self.shop = FakeWoo(page_cap=3)  # small pages, so streams span several of them
        for sku in SIMPLE:
            self.shop.add_product(sku, 0, manage=False)
        for parent, skus in VARIATIONS.items():
            for sku in skus:
                self.shop.add_variation(parent, sku, 100)

    # FailingRemote
    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.shop.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.shop.error = error

    # WriteRecorder
    def applied_changes(self) -> int:
        return self.shop.applied

    def write_call_sizes(self) -> list[int]:
        return self.shop.batch_sizes()

    # WebhookSigner
    def sample_webhook(self, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        order = load("order_processing.json")
        order["id"] = 7000 + sum(delivery_id.encode())
        order["number"] = str(order["id"])
        body = json.dumps(order, separators=(",", ":")).replace("/", "\\/").encode()
        headers = webhook_headers("order.created", delivery_id, body, signed=False)
        return body, headers

    def sign(self, body: bytes) -> dict[str, str]:
        return {"X-WC-Webhook-Signature": sign(body, WEBHOOK_SECRET)}

    # StreamSource
    def seed(self, stream: str, count: int) -> None:
        assert stream == "orders"
        self.shop.seed_orders(count)

    @contextmanager
    def serving(self) -> Iterator[WooHarness]:
        with self.shop.serving():
            yield self


class TestWooCommerceContract(ConnectorContract):
    connector_class = WooCommerceConnector
    mapping_file = Path(__file__).resolve().parents[2] / "mappings/defaults/poslog-woocommerce.yaml"
    mapping_connection = "webshop"
    config = {
        "site_url": SITE,
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "webhook_secret": WEBHOOK_SECRET,
    }
    stock_location = "default"

    @pytest.fixture(autouse=True)
    def _no_retry_waits(self, monkeypatch: pytest.MonkeyPatch) -> None:
        without_retry_waits(monkeypatch)

    def remote(self) -> Any:
        return WooHarness().serving()

    def stock_writes(self, count: int) -> list[StockWrite]:
        return [
            StockWrite(sku=sku, location="default", quantity=Decimal(n % 7 + 1))
            for n, sku in enumerate(CATALOG[:count])
        ]
