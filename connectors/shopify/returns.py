"""Sink ``returns``: a web order returned at a store till, recorded on the Shopify order.

Brique records it as a refund of the returned line items that moves neither stock nor money
(Admin GraphQL ``refundCreate``, documented at
https://shopify.dev/docs/api/admin-graphql/latest/mutations/refundCreate):

- ``refundLineItems: [{lineItemId, quantity, restockType: NO_RESTOCK}]``
  (``RefundLineItemInput``; "If the restockType is set to NO_RESTOCK, then [locationId] is
  empty"): the store's till already put the goods back in the store's stock, and Shopify's
  quantities are what Brique publishes from its ledger, so Shopify must not restock too;
- no ``transactions`` (``RefundInput.transactions`` lists the money refunded): the customer
  was paid back at the till;
- ``notify: false``, and a ``note`` naming the store ticket with Brique's marker.

``returnCreate`` + ``returnClose`` were considered: a Return is the merchant's process for
goods still to come back (return line items taken from fulfillments, a reverse fulfillment
to receive, then a refund); here the goods are back and the money is settled, which is
exactly a refund without restock nor transaction.

Idempotent twice over: the mutation carries ``@idempotent(key:)`` (optional from API
2026-01, mandatory from 2026-04: shopify.dev changelog "Making idempotency mandatory for
inventory adjustments and refund mutations"), and the order's refunds are read first: one
whose note carries the marker means the return was recorded already. Quantities are taken
from the order's line items of the returned SKU within their ``refundableQuantity``; a
return Shopify no longer has room for (refunded online meanwhile) is refused, not forced.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bridge.connector import ReturnWrite, WriteBatch, WriteResult
from bridge.errors import DataError
from connectors.shopify.payloads import gid

if TYPE_CHECKING:
    from connectors.shopify.connector import ShopifyConnector

ORDER_QUERY = """
query BriqueReturnOrder($id: ID!, $after: String) {
  order(id: $id) {
    id
    name
    refunds(first: 50) { id note }
    lineItems(first: 100, after: $after) {
      nodes { id sku quantity refundableQuantity }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

REFUND_MUTATION = """
mutation BriqueReturnRefund($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { id note }
    userErrors { field message }
  }
}
"""

MAX_LINE_PAGES = 50


def marker(key: str) -> str:
    """What a refund's note carries so that Brique recognises its own refund later."""
    return f"[brique:{key}]"


def write_returns(connector: ShopifyConnector, batch: WriteBatch) -> WriteResult:
    """One refund per ``ReturnWrite``; refusals go to ``failed`` under the write's key."""
    result = WriteResult()
    for position, raw in enumerate(batch.items):
        try:
            item = ReturnWrite.model_validate(raw.model_dump())
        except ValidationError as exc:
            raise DataError(f"returns item {position} is not a ReturnWrite: {exc}") from None
        try:
            _record(connector, batch, position, item, result)
        except DataError as exc:
            result.failed[item.key] = str(exc)
    return result


def _record(
    connector: ShopifyConnector,
    batch: WriteBatch,
    position: int,
    item: ReturnWrite,
    result: WriteResult,
) -> None:
    order_id = gid("Order", item.order_reference)
    order, lines = _read_order(connector, order_id)
    if order is None:
        result.failed[item.key] = f"order {item.order_reference} is not in this Shopify shop"
        return
    tag = marker(item.key)
    for refund in order.get("refunds") or ():
        if isinstance(refund, dict) and tag in str(refund.get("note") or ""):
            result.written += 1
            result.observed[item.key] = {"refund": refund.get("id"), "order": order.get("name")}
            return
    refund_lines = _refund_lines(str(order.get("name") or order_id), lines, item)
    note = f"{item.note} {tag}".strip()
    key = hashlib.sha256(f"{batch.idempotency_key}|{position}".encode()).hexdigest()
    data = connector.graphql.execute(
        REFUND_MUTATION,
        {
            "input": {
                "orderId": order_id,
                "note": note,
                "notify": False,
                "refundLineItems": refund_lines,
                "transactions": [],
            },
            "idempotencyKey": f"brique-return-{key[:40]}",
        },
        what=f"shopify refundCreate (order {order.get('name') or order_id})",
    )
    payload = data.get("refundCreate") or {}
    errors = [e for e in payload.get("userErrors") or () if isinstance(e, dict)]
    if errors:
        text = "; ".join(str(e.get("message") or e) for e in errors)
        result.failed[item.key] = f"shopify refused the refund of {order.get('name')}: {text}"
        return
    refund = payload.get("refund") or {}
    result.written += 1
    result.observed[item.key] = {"refund": refund.get("id"), "order": order.get("name")}


def _read_order(
    connector: ShopifyConnector, order_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The order (name, refunds) and all its line items, page by page."""
    order: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_LINE_PAGES):
        data = connector.graphql.execute(
            ORDER_QUERY, {"id": order_id, "after": after}, what=f"shopify order {order_id}"
        )
        found = data.get("order")
        if not isinstance(found, dict):
            return None, []
        order = order or found
        connection = found.get("lineItems") or {}
        lines.extend(n for n in connection.get("nodes") or () if isinstance(n, dict))
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            return order, lines
        if page["endCursor"] == after:
            raise DataError(f"shopify order {order_id}: line items page cursor repeats")
        after = page["endCursor"]
    raise DataError(f"shopify order {order_id}: more than {MAX_LINE_PAGES} pages of line items")


def _refund_lines(
    name: str, lines: list[dict[str, Any]], item: ReturnWrite
) -> list[dict[str, Any]]:
    """``RefundLineItemInput``s for the returned units, from the SKU's refundable lines."""
    room = {str(n.get("id")): int(n.get("refundableQuantity") or 0) for n in lines}
    taken: dict[str, int] = {}
    for returned in item.lines:
        if returned.quantity != returned.quantity.to_integral_value() or returned.quantity <= 0:
            raise DataError(f"{name}: {returned.quantity} of {returned.sku} is not a whole unit")
        need = int(returned.quantity)
        same = [n for n in lines if n.get("sku") == returned.sku]
        if not same:
            raise DataError(f"{name}: no line item with SKU {returned.sku}")
        for node in same:
            line_id = str(node.get("id"))
            take = min(need, room[line_id])
            if take > 0:
                taken[line_id] = taken.get(line_id, 0) + take
                room[line_id] -= take
                need -= take
        if need:
            left = Decimal(returned.quantity) - need
            raise DataError(
                f"{name}: {returned.quantity} of {returned.sku} returned in store, but Shopify "
                f"can refund only {left} of it (refunded online already?)"
            )
    return [
        {"lineItemId": line_id, "quantity": quantity, "restockType": "NO_RESTOCK"}
        for line_id, quantity in taken.items()
    ]
