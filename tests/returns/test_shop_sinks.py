"""The ``returns`` sink of each shop connector against its documented API, through
``responses`` (answers written by hand in the documented shapes; no recording).

- Shopify Admin GraphQL: ``order`` (lineItems with ``refundableQuantity``, refunds with
  ``note``) and ``refundCreate`` (``RefundInput``, ``@idempotent``).
- WooCommerce REST v3: ``GET /orders/<id>``, ``GET /orders/<id>/refunds``, ``POST
  /orders/<id>/refunds`` (the docs' refund object: ``line_items[].meta_data`` with
  ``_refunded_item_id``).
- Vendure Admin GraphQL: ``orders`` filtered by code with ``history``, ``addNoteToOrder``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import responses
from pydantic import SecretStr

from bridge.connector import ConnectorContext, ReturnWrite, WriteBatch
from bridge.errors import ConfigError
from bridge.model import BasketLine, Money
from connectors.shopify import ShopifyConfig, ShopifyConnector
from connectors.vendure.connector import VendureConfig, VendureConnector
from connectors.woocommerce.connector import WooCommerceConfig, WooCommerceConnector

KEY = "1001/01/2026-11-23/7#820982911946154508"


def write(
    order: str, *lines: tuple[str, str, str | None], refund: str | None = "30.00"
) -> WriteBatch:
    item = ReturnWrite(
        key=KEY if order == "820982911946154508" else f"1001/01/2026-11-23/7#{order}",
        order_reference=order,
        lines=tuple(
            BasketLine(
                sku=sku,
                quantity=Decimal(q),
                unit_price=None if unit is None else Money(amount=unit, currency="EUR"),
            )
            for sku, q, unit in lines
        ),
        refund=None if refund is None else Money(amount=refund, currency="EUR"),
        restocked_at="gid://shopify/Location/1",
        note="Returned at store PARIS-01 (ticket 1001/01/2026-11-23/7)",
    )
    return WriteBatch(
        idempotency_key=f"eshop:returns:tills:{item.key}", items=[item], reference="Ticket/x"
    )


# -- Shopify ------------------------------------------------------------------------------

SHOP = "https://brique-test.myshopify.com"
ORDER_GID = "gid://shopify/Order/820982911946154508"


class ShopifyOrders:
    """Answers ``BriqueReturnOrder`` and ``BriqueReturnRefund`` like the Admin API."""

    def __init__(self) -> None:
        self.lines = [
            {
                "id": "gid://shopify/LineItem/1",
                "sku": "TEE",
                "quantity": 1,
                "refundableQuantity": 1,
            },
            {
                "id": "gid://shopify/LineItem/2",
                "sku": "TEE",
                "quantity": 2,
                "refundableQuantity": 2,
            },
            {
                "id": "gid://shopify/LineItem/3",
                "sku": "CAP",
                "quantity": 1,
                "refundableQuantity": 0,
            },
        ]
        self.refunds: list[dict[str, Any]] = [{"id": "gid://shopify/Refund/5", "note": None}]
        self.exists = True
        self.user_errors: list[dict[str, Any]] = []
        self.mutations: list[dict[str, Any]] = []
        self.page_size = 2

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        operation = re.search(r"(?:query|mutation)\s+(\w+)", body["query"]).group(1)
        variables = body["variables"]
        if operation == "BriqueReturnOrder":
            data = {"order": self._order(variables) if self.exists else None}
        else:
            assert operation == "BriqueReturnRefund"
            self.mutations.append({"query": body["query"], **variables})
            refund = None
            if not self.user_errors:
                refund = {"id": "gid://shopify/Refund/9", "note": variables["input"]["note"]}
                self.refunds.append(refund)
            data = {"refundCreate": {"refund": refund, "userErrors": self.user_errors}}
        cost = {
            "requestedQueryCost": 12,
            "actualQueryCost": 12,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1988.0,
                "restoreRate": 100.0,
            },
        }
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"data": data, "extensions": {"cost": cost}}),
        )

    def _order(self, variables: dict[str, Any]) -> dict[str, Any]:
        assert variables["id"] == ORDER_GID
        start = int(variables["after"] or 0)
        nodes = self.lines[start : start + self.page_size]
        more = start + self.page_size < len(self.lines)
        return {
            "id": ORDER_GID,
            "name": "#1001",
            "refunds": self.refunds,
            "lineItems": {
                "nodes": nodes,
                "pageInfo": {"hasNextPage": more, "endCursor": str(start + self.page_size)},
            },
        }


@pytest.fixture
def shopify() -> Iterator[tuple[ShopifyConnector, ShopifyOrders]]:
    config = ShopifyConfig(shop_url=SHOP, access_token=SecretStr("shpat_test_token"))
    now = [1000.0]

    def sleep(seconds: float) -> None:
        now[0] += max(seconds, 1e-6)

    connector = ShopifyConnector(
        config, ConnectorContext("eshop"), clock=lambda: now[0], sleep=sleep
    )
    shop = ShopifyOrders()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, config.graphql_url, callback=shop)
        yield connector, shop
    connector.close()


def test_shopify_records_a_refund_without_restock_nor_money(shopify) -> None:
    connector, shop = shopify
    result = connector.write("returns", write("820982911946154508", ("TEE", "2", "15.00")))
    assert (result.written, result.failed) == (1, {})
    (mutation,) = shop.mutations
    assert "@idempotent(key: $idempotencyKey)" in mutation["query"]
    assert mutation["idempotencyKey"].startswith("brique-return-")
    sent = mutation["input"]
    assert sent["orderId"] == ORDER_GID
    assert (sent["notify"], sent["transactions"]) == (False, [])
    # Two units of TEE from its lines, oldest first, within their refundable quantities.
    assert sent["refundLineItems"] == [
        {"lineItemId": "gid://shopify/LineItem/1", "quantity": 1, "restockType": "NO_RESTOCK"},
        {"lineItemId": "gid://shopify/LineItem/2", "quantity": 1, "restockType": "NO_RESTOCK"},
    ]
    assert f"[brique:{KEY}]" in sent["note"]
    assert result.observed[KEY] == {"refund": "gid://shopify/Refund/9", "order": "#1001"}

    # Sent again (a crash before Brique recorded it): the marked refund is found, no mutation.
    again = connector.write("returns", write("820982911946154508", ("TEE", "2", "15.00")))
    assert (again.written, again.failed, len(shop.mutations)) == (1, {}, 1)
    assert again.observed[KEY]["refund"] == "gid://shopify/Refund/9"


def test_shopify_refuses_what_it_can_no_longer_refund(shopify) -> None:
    connector, shop = shopify
    result = connector.write("returns", write("820982911946154508", ("CAP", "1", "9.00")))
    assert result.written == 0
    assert "can refund only 0" in result.failed[KEY]
    assert shop.mutations == []
    unknown = connector.write("returns", write("820982911946154508", ("SOCKS", "1", "3.00")))
    assert "no line item with SKU SOCKS" in unknown.failed[KEY]


def test_shopify_user_errors_and_unknown_orders_are_refusals(shopify) -> None:
    connector, shop = shopify
    shop.user_errors = [{"field": ["refundLineItems"], "message": "Order is archived"}]
    result = connector.write("returns", write("820982911946154508", ("TEE", "1", "15.00")))
    assert "Order is archived" in result.failed[KEY]
    shop.exists = False
    result = connector.write("returns", write("820982911946154508", ("TEE", "1", "15.00")))
    assert "not in this Shopify shop" in result.failed[KEY]


# -- WooCommerce --------------------------------------------------------------------------

SITE = "https://shop.brique.test"
API = f"{SITE}/wp-json/wc/v3"
WOO_KEY = "1001/01/2026-11-23/7#727"


def woo_order() -> dict[str, Any]:
    """The docs' order shape, reduced to what a refund reads."""
    return {
        "id": 727,
        "number": "727",
        "currency": "EUR",
        "prices_include_tax": False,
        "line_items": [
            {
                "id": 315,
                "sku": "TEE",
                "quantity": 2,
                "subtotal": "50.00",
                "total": "50.00",
                "total_tax": "10.00",
                "taxes": [{"id": 75, "total": "10.00", "subtotal": "10.00"}],
            },
            {
                "id": 316,
                "sku": "CAP",
                "quantity": 1,
                "subtotal": "10.00",
                "total": "10.00",
                "total_tax": "2.00",
                "taxes": [{"id": 75, "total": "2.00", "subtotal": "2.00"}],
            },
        ],
    }


def woo_refund(refund_id: int, item_id: int, quantity: int, **meta: str) -> dict[str, Any]:
    return {
        "id": refund_id,
        "amount": "12.00",
        "reason": "",
        "refunded_payment": False,
        "meta_data": [{"id": 1, "key": k, "value": v} for k, v in meta.items()],
        "line_items": [
            {
                "id": 900 + refund_id,
                "quantity": -quantity,
                "total": "-10.00",
                "meta_data": [{"id": 2, "key": "_refunded_item_id", "value": str(item_id)}],
            }
        ],
    }


@pytest.fixture
def woo() -> Iterator[tuple[WooCommerceConnector, responses.RequestsMock, list[Any]]]:
    config = WooCommerceConfig(
        site_url=SITE, consumer_key=SecretStr("ck_test"), consumer_secret=SecretStr("cs_test")
    )
    connector = WooCommerceConnector(config, ConnectorContext("woo"))
    refunds: list[Any] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{API}/orders/727", json=woo_order())
        mock.add_callback(
            responses.GET,
            f"{API}/orders/727/refunds",
            callback=lambda r: (200, {"X-WP-TotalPages": "1"}, json.dumps(refunds)),
        )
        yield connector, mock, refunds
    connector.close()


def test_woocommerce_records_a_refund_that_pays_nothing_and_restocks_nothing(woo) -> None:
    connector, mock, refunds = woo
    mock.add(responses.POST, f"{API}/orders/727/refunds", json={"id": 801}, status=201)
    result = connector.write("returns", write("727", ("TEE", "1", "30.00")))
    assert (result.written, result.failed) == (1, {})
    assert result.observed[WOO_KEY] == {"refund": 801, "order": "727"}
    (post,) = [c for c in mock.calls if c.request.method == "POST"]
    body = json.loads(post.request.body)
    assert (body["api_refund"], body["api_restock"], body["amount"]) == (False, False, "30.00")
    # 30.00 refunded at the till, split like the line (50.00 + 10.00 of tax): 25.00 + 5.00.
    assert body["line_items"] == [
        {
            "id": 315,
            "quantity": 1,
            "refund_total": "25.00",
            "refund_tax": [{"id": 75, "refund_total": "5.00"}],
        }
    ]
    assert body["meta_data"] == [{"key": "brique_return", "value": WOO_KEY}]
    assert f"[brique:{WOO_KEY}]" in body["reason"]

    # Sent again: the refund carrying the key is found, nothing is posted twice.
    refunds.append(woo_refund(801, 315, 1, brique_return=WOO_KEY))
    again = connector.write("returns", write("727", ("TEE", "1", "30.00")))
    assert (again.written, again.failed) == (1, {})
    assert len([c for c in mock.calls if c.request.method == "POST"]) == 1


def test_woocommerce_counts_earlier_refunds_and_refuses_more(woo) -> None:
    connector, mock, refunds = woo
    refunds.append(woo_refund(700, 315, 2))  # both tees refunded online already
    result = connector.write("returns", write("727", ("TEE", "1", "30.00")))
    assert "can refund only 0" in result.failed[WOO_KEY]
    assert not [c for c in mock.calls if c.request.method == "POST"]


def test_woocommerce_without_amounts_sends_quantities_only(woo) -> None:
    connector, mock, _ = woo
    mock.add(responses.POST, f"{API}/orders/727/refunds", json={"id": 802}, status=201)
    result = connector.write("returns", write("727", ("CAP", "1", None), refund=None))
    assert result.failed == {}
    body = json.loads(next(c for c in mock.calls if c.request.method == "POST").request.body)
    assert (body["amount"], body["line_items"]) == ("0", [{"id": 316, "quantity": 1}])


def test_woocommerce_unknown_order_is_a_refusal_but_a_wrong_site_stops(woo) -> None:
    connector, mock, _ = woo
    mock.add(
        responses.GET,
        f"{API}/orders/728",
        status=404,
        json={
            "code": "woocommerce_rest_shop_order_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 404},
        },
    )
    result = connector.write("returns", write("728", ("TEE", "1", "30.00")))
    assert "not in this WooCommerce shop" in result.failed["1001/01/2026-11-23/7#728"]
    mock.add(responses.GET, f"{API}/orders/729", status=404, body="<html>nope</html>")
    with pytest.raises(ConfigError):
        connector.write("returns", write("729", ("TEE", "1", "30.00")))


# -- Vendure ------------------------------------------------------------------------------

ADMIN = "https://vendure.brique.test/admin-api"
VENDURE_KEY = "1001/01/2026-11-23/7#ABCD1234EFGH"


class VendureOrders:
    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = [
            {"id": "1", "type": "ORDER_STATE_TRANSITION", "data": {"from": "A", "to": "B"}}
        ]
        self.notes: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        variables = body["variables"]
        if "BriqueReturnOrder" in body["query"]:
            order = {
                "id": "42",
                "code": variables["code"],
                "state": "PaymentSettled",
                "lines": [{"id": "7", "quantity": 2, "productVariant": {"sku": "TEE"}}],
                "history": {"items": self.history},
            }
            data: dict[str, Any] = {
                "orders": {"items": [order] if variables["code"] == "ABCD1234EFGH" else []}
            }
        else:
            assert "addNoteToOrder" in body["query"]
            self.notes.append(variables["input"])
            self.history.append(
                {
                    "id": str(len(self.history) + 1),
                    "type": "ORDER_NOTE",
                    "data": {"note": variables["input"]["note"]},
                }
            )
            data = {"addNoteToOrder": {"id": variables["input"]["id"]}}
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": data})


@pytest.fixture
def vendure() -> Iterator[tuple[VendureConnector, VendureOrders]]:
    config = VendureConfig(admin_api_url=ADMIN, token=SecretStr("session-token"))
    connector = VendureConnector(config, ConnectorContext("vendure"))
    shop = VendureOrders()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, ADMIN, callback=shop)
        yield connector, shop
    connector.close()


def test_vendure_notes_the_return_on_the_order_once(vendure) -> None:
    connector, shop = vendure
    result = connector.write("returns", write("ABCD1234EFGH", ("TEE", "1", "30.00")))
    assert (result.written, result.failed) == (1, {})
    (note,) = shop.notes
    assert (note["id"], note["isPublic"]) == ("42", False)
    assert "1 x TEE" in note["note"] and "30.00 EUR" in note["note"]
    assert note["note"].endswith(f"[brique:{VENDURE_KEY}]")
    again = connector.write("returns", write("ABCD1234EFGH", ("TEE", "1", "30.00")))
    assert (again.written, len(shop.notes)) == (1, 1)


def test_vendure_refuses_units_the_order_never_had(vendure) -> None:
    connector, shop = vendure
    result = connector.write("returns", write("ABCD1234EFGH", ("TEE", "3", "30.00")))
    assert "the order has 2" in result.failed[VENDURE_KEY]
    missing = connector.write("returns", write("ZZZ", ("TEE", "1", "30.00")))
    assert "not in this Vendure channel" in missing.failed["1001/01/2026-11-23/7#ZZZ"]
    assert shop.notes == []
