"""Sink ``returns``: a web order returned at a store till, recorded as a WooCommerce refund.

``POST /wp-json/wc/v3/orders/<id>/refunds`` (WooCommerce REST API v3, "Order refunds":
https://developer.woocommerce.com/docs/apis/rest-api/v3/order-refunds/) with

- ``api_refund: false``: "When true, the payment gateway API is used to generate the
  refund" (default true): the customer was paid back at the till, the gateway must not pay
  again;
- ``api_restock: false``: "When true, the selected line items are restocked" (default
  true): the store's till restocked the store, and WooCommerce's stock is what Brique
  publishes from its ledger;
- ``line_items: [{id, quantity, refund_total, refund_tax: [{id, refund_total}]}]`` (the
  classic create path, in WooCommerce core's ``WC_REST_Order_Refunds_Controller``:
  ``refund_total`` excludes tax, taxes go per tax rate id): the store's refund split over the
  order lines in the proportion of their own tax, so the order shows the units as refunded;
- ``amount``: what the store refunded, which "will take precedence over line item totals";
- ``meta_data: [{key: "brique_return", value: <key>}]`` and the key in ``reason``.

WooCommerce has no idempotency key: the order's refunds are read first (``GET
/orders/<id>/refunds``) and one carrying the key means the return was recorded already.
Quantities refunded before (the ``_refunded_item_id`` meta of refund lines) are deducted
from what each line can still take; a return WooCommerce no longer has room for is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bridge.connector import ReturnWrite, WriteBatch, WriteResult
from bridge.errors import ConfigError, DataError

if TYPE_CHECKING:
    from connectors.woocommerce.connector import WooCommerceConnector

META_KEY = "brique_return"
REFUNDED_ITEM = "_refunded_item_id"
PER_PAGE = 100
MAX_PAGES = 100
CENT = Decimal("0.01")


def write_returns(connector: WooCommerceConnector, batch: WriteBatch) -> WriteResult:
    """One refund per ``ReturnWrite``; refusals go to ``failed`` under the write's key."""
    result = WriteResult()
    for position, raw in enumerate(batch.items):
        try:
            item = ReturnWrite.model_validate(raw.model_dump())
        except ValidationError as exc:
            raise DataError(f"returns item {position} is not a ReturnWrite: {exc}") from None
        try:
            _record(connector, item, result)
        except DataError as exc:
            result.failed[item.key] = str(exc)
    return result


def _record(connector: WooCommerceConnector, item: ReturnWrite, result: WriteResult) -> None:
    client = connector.client
    order_id = item.order_reference
    if not order_id.isdigit():
        raise DataError(f"{order_id!r} is not a WooCommerce order id")
    what = f"woocommerce order {order_id}"
    try:
        order = client.json(client.get(f"orders/{order_id}", what=what), what)
    except ConfigError as exc:
        if "invalid_id" in str(exc):
            raise DataError(f"order {order_id} is not in this WooCommerce shop") from None
        raise
    if not isinstance(order, dict):
        raise DataError(f"{what}: the answer is not an order")
    refunded: dict[str, Decimal] = {}
    for refund in _refunds(connector, order_id):
        if _is_ours(refund, item.key):
            result.written += 1
            result.observed[item.key] = {"refund": refund.get("id"), "order": order.get("number")}
            return
        for line in refund.get("line_items") or ():
            if isinstance(line, dict):
                source = _meta(line, REFUNDED_ITEM)
                if source is not None:
                    refunded[source] = refunded.get(source, Decimal(0)) + abs(
                        _decimal(line.get("quantity")) or Decimal(0)
                    )
    lines = _refund_lines(order, refunded, item)
    body = {
        "amount": format(item.refund.amount if item.refund else Decimal(0), "f"),
        "reason": f"{item.note} [brique:{item.key}]".strip(),
        "api_refund": False,
        "api_restock": False,
        "line_items": lines,
        "meta_data": [{"key": META_KEY, "value": item.key}],
    }
    created = client.json(
        client.post(f"orders/{order_id}/refunds", body, what=f"{what} refund"), f"{what} refund"
    )
    refund_id = created.get("id") if isinstance(created, dict) else None
    result.written += 1
    result.observed[item.key] = {"refund": refund_id, "order": order.get("number")}


def _refunds(connector: WooCommerceConnector, order_id: str) -> Iterator[dict[str, Any]]:
    client = connector.client
    what = f"woocommerce order {order_id} refunds"
    for page in range(1, MAX_PAGES + 1):
        response = client.get(
            f"orders/{order_id}/refunds", {"page": page, "per_page": PER_PAGE}, what=what
        )
        items = client.json(response, what)
        if not isinstance(items, list):
            raise DataError(f"{what}: the answer is not a list")
        yield from (i for i in items if isinstance(i, dict))
        total = response.headers.get("X-WP-TotalPages")
        if len(items) < PER_PAGE or (total is not None and total.isdigit() and page >= int(total)):
            return
    raise DataError(f"{what}: more than {MAX_PAGES} pages")


def _is_ours(refund: dict[str, Any], key: str) -> bool:
    return _meta(refund, META_KEY) == key or f"[brique:{key}]" in str(refund.get("reason") or "")


def _meta(node: dict[str, Any], name: str) -> str | None:
    for entry in node.get("meta_data") or ():
        if isinstance(entry, dict) and entry.get("key") == name:
            return str(entry.get("value"))
    return None


def _refund_lines(
    order: dict[str, Any], refunded: dict[str, Decimal], item: ReturnWrite
) -> list[dict[str, Any]]:
    number = order.get("number") or order.get("id")
    rows = [r for r in order.get("line_items") or () if isinstance(r, dict)]
    room = {
        str(r.get("id")): (_decimal(r.get("quantity")) or Decimal(0))
        - refunded.get(str(r.get("id")), Decimal(0))
        for r in rows
    }
    out: list[dict[str, Any]] = []
    for returned in item.lines:
        if returned.quantity != returned.quantity.to_integral_value() or returned.quantity <= 0:
            raise DataError(f"order {number}: {returned.quantity} of {returned.sku} is not whole")
        need = returned.quantity
        same = [r for r in rows if str(r.get("sku") or "") == returned.sku]
        if not same:
            raise DataError(f"order {number}: no line item with SKU {returned.sku}")
        for row in same:
            line_id = str(row.get("id"))
            take = min(need, room[line_id])
            if take <= 0:
                continue
            room[line_id] -= take
            need -= take
            unit = returned.unit_price.amount if returned.unit_price is not None else None
            out.append(_line(row, take, None if unit is None else unit * take))
        if need:
            raise DataError(
                f"order {number}: {returned.quantity} of {returned.sku} returned in store, but "
                f"WooCommerce can refund only {returned.quantity - need} of it"
            )
    return out


def _line(row: dict[str, Any], quantity: Decimal, gross: Decimal | None) -> dict[str, Any]:
    """One refund line: the units, and the store's refund split into net and per-rate tax in
    the proportion of the order line's own total and taxes."""
    line: dict[str, Any] = {"id": int(str(row.get("id"))), "quantity": int(quantity)}
    if gross is None:
        return line
    net_total = _decimal(row.get("total")) or Decimal(0)
    taxes = [
        (t.get("id"), _decimal(t.get("total")) or Decimal(0))
        for t in row.get("taxes") or ()
        if isinstance(t, dict) and t.get("id") is not None
    ]
    whole = net_total + sum((amount for _, amount in taxes), Decimal(0))
    refund_tax = []
    if whole > 0:
        for tax_id, amount in taxes:
            share = (gross * amount / whole).quantize(CENT, rounding=ROUND_HALF_UP)
            refund_tax.append({"id": int(str(tax_id)), "refund_total": format(share, "f")})
    net = gross - sum((Decimal(t["refund_total"]) for t in refund_tax), Decimal(0))
    line["refund_total"] = format(net.quantize(CENT, rounding=ROUND_HALF_UP), "f")
    if refund_tax:
        line["refund_tax"] = refund_tax
    return line


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return found if found.is_finite() else None
