"""Sink ``returns``: a web order returned at a store till, noted on the Vendure order.

Vendure's Admin API cannot record a refund that moves no money: ``refundOrder(input:
RefundOrderInput!)`` requires a ``paymentId`` and runs that payment method's handler
(``createRefund``), which pays the customer back for a real gateway; ``cancelOrder`` with
lines is for items not shipped and puts them back into Vendure's stock (schema:
``packages/core/src/api/schema/admin-api/order.api.graphql``). The customer was paid at the
till and Brique publishes the stock, so neither fits. What Vendure offers without side
effects is an order history note: ``addNoteToOrder(input: {id, note, isPublic: false})``,
which shows in the order's timeline in the dashboard. Brique writes one naming the store,
the ticket, the units and the amount refunded there; an admin can settle the order from it.

Idempotent by a marker: the order's history is read first, and a note carrying
``[brique:<key>]`` means the return was noted already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bridge.connector import ReturnWrite, WriteBatch, WriteResult
from bridge.errors import DataError

if TYPE_CHECKING:
    from connectors.vendure.connector import VendureConnector

ORDER_QUERY = """
query BriqueReturnOrder($code: String!) {
  orders(options: { filter: { code: { eq: $code } }, take: 1 }) {
    items {
      id
      code
      state
      lines { id quantity productVariant { sku } }
      history(options: { take: 1000 }) { items { id type data } }
    }
  }
}
"""

ADD_NOTE = """
mutation BriqueReturnNote($input: AddNoteToOrderInput!) {
  addNoteToOrder(input: $input) { id }
}
"""


def write_returns(connector: VendureConnector, batch: WriteBatch) -> WriteResult:
    """One private order note per ``ReturnWrite``; refusals go to ``failed``."""
    result = WriteResult()
    for position, raw in enumerate(batch.items):
        try:
            item = ReturnWrite.model_validate(raw.model_dump())
        except ValidationError as exc:
            raise DataError(f"returns item {position} is not a ReturnWrite: {exc}") from None
        try:
            _note(connector, item, result)
        except DataError as exc:
            result.failed[item.key] = str(exc)
    return result


def _note(connector: VendureConnector, item: ReturnWrite, result: WriteResult) -> None:
    code = item.order_reference
    data = connector.client.execute(ORDER_QUERY, {"code": code}, what=f"vendure order {code}")
    found = [o for o in (data.get("orders") or {}).get("items") or () if isinstance(o, dict)]
    order = next((o for o in found if o.get("code") == code), None)
    if order is None:
        raise DataError(f"order {code} is not in this Vendure channel")
    tag = f"[brique:{item.key}]"
    for entry in (order.get("history") or {}).get("items") or ():
        note = (entry.get("data") or {}).get("note") if isinstance(entry, dict) else None
        if entry.get("type") == "ORDER_NOTE" and tag in str(note or ""):
            result.written += 1
            result.observed[item.key] = {"note": entry.get("id"), "order": code}
            return
    _check_lines(code, order, item)
    units = ", ".join(f"{format(line.quantity, 'f')} x {line.sku}" for line in item.lines)
    refund = f"{item.refund.amount} {item.refund.currency}" if item.refund else "not stated"
    note = f"{item.note}. Returned: {units}. Refunded at the till: {refund}. {tag}"
    answer = connector.client.execute(
        ADD_NOTE,
        {"input": {"id": order.get("id"), "note": note, "isPublic": False}},
        what=f"vendure addNoteToOrder {code}",
    )
    noted = answer.get("addNoteToOrder") or {}
    result.written += 1
    result.observed[item.key] = {"order": code, "order_id": noted.get("id")}


def _check_lines(code: str, order: dict[str, Any], item: ReturnWrite) -> None:
    """Refuse a note about units the order never had (a wrong order number at the till)."""
    bought: dict[str, int] = {}
    for line in order.get("lines") or ():
        if isinstance(line, dict):
            sku = str((line.get("productVariant") or {}).get("sku") or "")
            bought[sku] = bought.get(sku, 0) + int(line.get("quantity") or 0)
    for returned in item.lines:
        if returned.quantity > bought.get(returned.sku, 0):
            raise DataError(
                f"order {code}: {returned.quantity} of {returned.sku} returned in store, the "
                f"order has {bought.get(returned.sku, 0)}"
            )
