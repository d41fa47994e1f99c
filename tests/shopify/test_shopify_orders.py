"""Orders and refunds from Shopify webhooks decoded as canonical web sales and returns.

Payloads follow Shopify's Order and Refund resources (see ``shopify_samples`` for the pages:
https://shopify.dev/docs/api/admin-rest/2024-10/resources/order and
https://shopify.dev/docs/api/admin-rest/2023-10/resources/refund).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import responses
from shopify_fakes import GRAPHQL_URL, cost
from shopify_samples import LINE_A, LINE_B, ORDER_ID, REFUND_ID, order, refund

from bridge.connector import InboundEvent
from bridge.errors import DataError
from bridge.model import Money, Sale, SaleBody, SaleStatus, TicketLink
from bridge.model.envelope import content_hash
from connectors.shopify import ShopifyConnector

STORE = "brique-test.myshopify.com"


def decode(connector: ShopifyConnector, topic: str, payload: dict[str, Any]) -> list[Sale]:
    bodies = connector.decode(InboundEvent(key="delivery-1", kind=topic, payload=payload))
    assert all(isinstance(body, SaleBody) for body in bodies)
    return [body.sale for body in bodies if isinstance(body, SaleBody)]


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


# -- orders -------------------------------------------------------------------------------


def test_order_decodes_lines_discounts_tender_customer_and_basket(
    connector: ShopifyConnector,
) -> None:
    (sale,) = decode(connector, "orders/create", order())
    assert sale.key.store == STORE and sale.key.transaction_id == str(ORDER_ID)
    assert sale.channel == "web" and sale.status is SaleStatus.COMPLETED
    first, second = sale.lines
    # An order-level discount reaches the line through discount_allocations.
    assert first.sku == "00123" and first.line_no == str(LINE_A["id"])
    assert first.unit_price == eur("199.00") and first.discount == eur("19.90")
    assert first.amount == eur("179.10")
    # No allocation: the line's own total_discount.
    assert second.quantity == Decimal(2) and second.discount == eur("0.50")
    assert second.amount == eur("203.50")
    assert sale.total == eur("387.60")
    (tender,) = sale.tenders
    assert tender.kind == "shopify_payments" and tender.amount == eur("387.60")
    assert not tender.refund
    assert sale.customer is not None
    assert sale.customer.email == "john@example.com" and sale.customer.phone == "+33612345678"
    assert sale.customer.name == "John Smith"
    assert sale.customer.channel_ids == {"shopify": "115310627314723954"}
    assert sale.basket == "K7M4QXZ3"  # the brique_code note attribute
    assert all(isinstance(line.amount.amount, Decimal) for line in sale.lines if line.amount)


def test_order_without_code_names_its_cart_then_its_checkout(connector: ShopifyConnector) -> None:
    (sale,) = decode(connector, "orders/create", order(note_attributes=[]))
    assert sale.basket == "c1-7a2abe82733a34e84aa472d57fb5c3c1"
    (sale,) = decode(connector, "orders/create", order(note_attributes=[], cart_token=None))
    assert sale.basket == "2a1ace52255252df566af0faaedfbfa7"
    (sale,) = decode(
        connector,
        "orders/create",
        order(note_attributes=[], cart_token=None, checkout_token=None),
    )
    assert sale.basket is None


def test_unpaid_order_has_no_tender_and_a_part_payment_counts_what_was_paid(
    connector: ShopifyConnector,
) -> None:
    pending = order(financial_status="pending", total_outstanding="387.60")
    (sale,) = decode(connector, "orders/create", pending)
    assert sale.tenders == () and sale.status is SaleStatus.COMPLETED
    split = order(
        financial_status="partially_paid",
        total_outstanding="87.60",
        payment_gateway_names=["gift_card", "shopify_payments"],
    )
    (sale,) = decode(connector, "orders/create", split)
    (tender,) = sale.tenders
    assert tender.kind == "gift_card+shopify_payments" and tender.amount == eur("300.00")
    legacy = order(total_outstanding=None, financial_status="pending")
    assert decode(connector, "orders/create", legacy)[0].tenders == ()


def test_order_with_transactions_gives_one_tender_per_payment(
    connector: ShopifyConnector,
) -> None:
    transactions = [
        {"kind": "authorization", "status": "success", "amount": "387.60", "gateway": "card"},
        {"kind": "capture", "status": "success", "amount": "300.00", "gateway": "card"},
        {"kind": "sale", "status": "success", "amount": "87.60", "gateway": "gift_card"},
        {"kind": "sale", "status": "failure", "amount": "87.60", "gateway": "card"},
        {"kind": "change", "status": "success", "amount": "2.40", "gateway": "cash"},
    ]
    (sale,) = decode(connector, "orders/create", order(transactions=transactions))
    assert [(t.kind, t.amount.amount, t.refund) for t in sale.tenders] == [
        ("card", Decimal("300.00"), False),
        ("gift_card", Decimal("87.60"), False),
        ("cash", Decimal("2.40"), True),
    ]


def test_updated_and_cancelled_orders_keep_the_key_and_say_their_status(
    connector: ShopifyConnector,
) -> None:
    (created,) = decode(connector, "orders/create", order())
    (updated,) = decode(connector, "orders/updated", order(note="leave at the door"))
    cancelled = order(cancelled_at="2026-01-16T09:00:00-05:00", cancel_reason="customer")
    (gone,) = decode(connector, "orders/cancelled", cancelled)
    assert created.key == updated.key == gone.key
    assert updated.status is SaleStatus.COMPLETED
    assert gone.status is SaleStatus.CANCELLED and gone.stock_lines() == ()


def test_order_without_currency_is_a_data_error(connector: ShopifyConnector) -> None:
    with pytest.raises(DataError, match="no currency"):
        decode(connector, "orders/create", order(currency=None, presentment_currency=None))


# -- refunds ------------------------------------------------------------------------------


def test_refund_webhook_is_a_return_linked_to_its_order(connector: ShopifyConnector) -> None:
    (sale,) = decode(connector, "refunds/create", refund())
    assert sale.key.store == STORE and sale.key.transaction_id == f"refund-{REFUND_ID}"
    assert sale.channel == "web" and sale.status is SaleStatus.COMPLETED
    link = TicketLink(store=STORE, transaction_id=str(ORDER_ID), order_reference=str(ORDER_ID))
    assert sale.link == link
    (line,) = sale.lines
    assert line.is_return and line.quantity == Decimal(-1) and line.sku == "IPOD2008RED"
    assert line.unit_price == eur("102.00") and line.amount == eur("-101.75")
    assert line.link is not None and line.link.line == str(LINE_B["id"])
    assert line.link.order_reference == str(ORDER_ID)
    # Only the successful refund transaction is a tender; the failed one is not.
    (tender,) = sale.tenders
    assert tender.refund and tender.kind == "shopify_payments" and tender.amount == eur("101.75")
    assert sale.total == eur("-101.75")
    assert sale.customer is None  # the order carries it; the refund webhook does not


def test_refund_in_an_updated_order_is_the_same_return_as_its_webhook(
    connector: ShopifyConnector,
) -> None:
    """The journal keys sales by ticket key: one refund, whichever path, one return."""
    (from_webhook,) = decode(connector, "refunds/create", refund())
    for topic in ("orders/updated", "orders/cancelled"):
        sales = decode(connector, topic, order(refunds=[refund()]))
        assert len(sales) == 2
        assert sales[0].key.transaction_id == str(ORDER_ID)
        assert sales[1] == from_webhook
        assert content_hash(sales[1]) == content_hash(from_webhook)


def test_refund_inside_an_order_may_leave_out_its_line_item(connector: ShopifyConnector) -> None:
    inner = refund()
    del inner["order_id"]
    del inner["refund_line_items"][0]["line_item"]
    sales = decode(connector, "orders/updated", order(refunds=[inner]))
    assert sales[1].lines[0].sku == "IPOD2008RED"
    assert sales[1].key.transaction_id == f"refund-{REFUND_ID}"


def test_test_refund_is_training_and_a_money_only_refund_has_no_lines(
    connector: ShopifyConnector,
) -> None:
    body = refund(refund_line_items=[])
    for transaction in body["transactions"]:
        transaction["test"] = True
    (sale,) = decode(connector, "refunds/create", body)
    assert sale.status is SaleStatus.TRAINING and sale.lines == ()
    assert sale.total == eur("-101.75")


def test_refund_line_without_sku_is_a_data_error(connector: ShopifyConnector) -> None:
    body = refund()
    body["refund_line_items"][0]["line_item"]["sku"] = ""
    with pytest.raises(DataError, match="no SKU"):
        decode(connector, "refunds/create", body)


def test_refund_naming_no_currency_takes_the_shops(connector: ShopifyConnector) -> None:
    body = refund()
    del body["refund_line_items"][0]["subtotal_set"]
    for transaction in body["transactions"]:
        del transaction["currency"]
    shop = {"data": {"shop": {"currencyCode": "EUR"}}, "extensions": cost(1, 1)}
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, GRAPHQL_URL, json=shop)
        (sale,) = decode(connector, "refunds/create", body)
        assert sale.currency == "EUR"
        assert json.loads(mock.calls[0].request.body)["query"].startswith("query BriqueShop")


def test_refund_without_order_id_is_a_data_error(connector: ShopifyConnector) -> None:
    with pytest.raises(DataError, match="order_id"):
        decode(connector, "refunds/create", refund(order_id=None))


def test_a_refund_brique_wrote_for_a_store_return_is_an_echo(connector: ShopifyConnector) -> None:
    """The ``returns`` sink records a store return as a refund marked in its note; the store's
    own return ticket already counts it, so neither the webhook nor the order re-imports it."""
    ours = refund(note="Returned at the Lyon store [brique:lyon/tx/42]", transactions=[])
    assert connector.decode(InboundEvent(key="d", kind="refunds/create", payload=ours)) == []
    sales = decode(connector, "orders/updated", order(refunds=[ours, refund(id=777)]))
    assert [sale.key.transaction_id for sale in sales] == [str(ORDER_ID), "refund-777"]


def test_graphql_ids_key_like_their_webhook(connector: ShopifyConnector) -> None:
    """An order or refund read through GraphQL names itself by GID; it keys like the REST id."""
    (rest,) = decode(connector, "refunds/create", refund())
    gids = refund(
        id=f"gid://shopify/Refund/{REFUND_ID}", order_id=f"gid://shopify/Order/{ORDER_ID}"
    )
    (graphql,) = decode(connector, "refunds/create", gids)
    assert graphql == rest
    (sale,) = decode(connector, "orders/create", order(id=f"gid://shopify/Order/{ORDER_ID}"))
    assert sale.key.transaction_id == str(ORDER_ID)
