"""The Shopify connector against the contract kit, over the scripted shop of the unit tests.

``ShopHarness`` wraps ``ScriptedShop`` (composition, not a copy): it adds what the kit asks
of a remote, i.e. forced HTTP answers, network failures, webhook signing, and Shopify's
``@idempotent`` behaviour (a repeated key returns the first answer without applying it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import responses

from bridge.connector import Connector, ConnectorContext, StockWrite
from bridge.testing import ConnectorContract
from connectors.shopify import ShopifyConnector
from tests.shopify.shopify_fakes import (
    GRAPHQL_URL,
    LOC_A,
    SHOP_URL,
    TOKEN,
    WEBHOOK_SECRET,
    FakeClock,
    ScriptedShop,
)

CATALOG = {f"{n:06d}": f"gid://shopify/InventoryItem/{271878346596884000 + n}" for n in range(600)}


class ShopHarness:
    """The kit's ``RemoteHarness`` for Shopify, delegating normal answers to ``ScriptedShop``."""

    def __init__(self) -> None:
        self.shop = ScriptedShop(CATALOG)
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None
        self.answers: dict[str, tuple[int, dict[str, str], str]] = {}
        self.applied = 0
        self.sizes: list[int] = []

    def __call__(self, request: Any) -> tuple[int, Mapping[str, str], str]:
        if self.error is not None:
            raise self.error
        if self.forced is not None:
            status, headers = self.forced
            return status, headers, json.dumps({"errors": f"HTTP {status}"})
        body = json.loads(request.body)
        key = (body.get("variables") or {}).get("idempotencyKey")
        if key is None:
            return self.shop(request)
        if key in self.answers:  # Shopify's @idempotent: same key, same answer, no change
            return self.answers[key]
        quantities = body["variables"]["input"]["quantities"]
        self.sizes.append(len(quantities))
        answer = self.shop(request)
        if not json.loads(answer[2])["data"]["inventorySetQuantities"]["userErrors"]:
            self.applied += len(quantities)
        self.answers[key] = answer
        return answer

    # FailingRemote
    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    # WriteRecorder
    def applied_changes(self) -> int:
        return self.applied

    def write_call_sizes(self) -> list[int]:
        return list(self.sizes)

    # WebhookSigner
    def sample_webhook(self, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        number = sum(delivery_id.encode())
        order = {
            "id": 820982911946154000 + number,
            "admin_graphql_api_id": f"gid://shopify/Order/{820982911946154000 + number}",
            "name": f"#{number}",
            "created_at": "2026-01-15T16:15:47-05:00",
            "currency": "EUR",
            "total_price": "199.00",
            "test": False,
            "cancelled_at": None,
            "line_items": [
                {
                    "id": 866550311766439020,
                    "variant_id": 808950810,
                    "title": "IPod Nano - 8GB",
                    "sku": "000123",
                    "quantity": 1,
                    "price": "199.00",
                    "total_discount": "0.00",
                }
            ],
        }
        headers = {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": delivery_id,
            "X-Shopify-Triggered-At": "2026-01-15T21:15:48.000Z",
            "Content-Type": "application/json",
        }
        return json.dumps(order).encode(), headers

    def sign(self, body: bytes) -> dict[str, str]:
        digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()
        return {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()}

    @contextmanager
    def serving(self) -> Iterator[ShopHarness]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.POST, GRAPHQL_URL, callback=self)
            yield self


REPO = Path(__file__).resolve().parents[2]


class TestShopifyContract(ConnectorContract):
    mapping_file = REPO / "mappings" / "defaults" / "poslog-shopify.yaml"
    mapping_connection = "webshop"
    connector_class = ShopifyConnector
    config = {"shop_url": SHOP_URL, "access_token": TOKEN, "webhook_secret": WEBHOOK_SECRET}
    stock_location = LOC_A

    def remote(self) -> Any:
        return ShopHarness().serving()

    def make_connector(self, harness: Any) -> Connector:
        clock = FakeClock()
        settings = self.connector_settings(harness)
        context = ConnectorContext(connection="contract")
        return ShopifyConnector(settings, context, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]

    def stock_writes(self, count: int) -> list[StockWrite]:
        skus = sorted(CATALOG)[:count]
        return [
            StockWrite(sku=s, location=LOC_A, quantity=Decimal(n % 7 + 1))
            for n, s in enumerate(skus)
        ]
