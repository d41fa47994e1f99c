"""Store returns of web orders as the CLI and the HTTP API show them (the same JSON)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.returns.tables import StoreReturn, StoreReturnLine, WebOrder
from bridge.sync.ledger import from_e4


class NotFound(LookupError):
    """No store return with that id or key."""


def list_returns(s: Session, *, unmatched: bool = False, limit: int = 500) -> list[dict[str, Any]]:
    """Newest first; ``unmatched`` keeps those waiting (an unknown order, an over-return...)."""
    query = select(StoreReturn).order_by(StoreReturn.id.desc()).limit(limit)
    if unmatched:
        query = query.where(StoreReturn.status == "unmatched")
    rows = s.scalars(query).all()
    orders = _orders(s, {r.web_order_id for r in rows if r.web_order_id is not None})
    return [summary(r, orders.get(r.web_order_id)) for r in rows]


def show(s: Session, key: str | int) -> dict[str, Any]:
    """One return with its lines; ``key`` is its id or its return key."""
    ret = None
    if isinstance(key, int) or str(key).isdigit():
        ret = s.get(StoreReturn, int(key))
    if ret is None:
        ret = s.scalars(select(StoreReturn).where(StoreReturn.return_key == str(key))).first()
    if ret is None:
        raise NotFound(f"no store return {key!r}")
    order = s.get(WebOrder, ret.web_order_id) if ret.web_order_id is not None else None
    data = summary(ret, order)
    lines = s.scalars(
        select(StoreReturnLine)
        .where(StoreReturnLine.return_id == ret.id)
        .order_by(StoreReturnLine.id)
    ).all()
    data["lines"] = [
        {
            "line_no": line.line_no,
            "sku": line.sku,
            "quantity": format(from_e4(line.quantity_e4), "f"),
            "amount": line.amount,
            "unit_price": line.unit_price,
            "paid": line.paid,
            "refunded": line.refunded,
            "store_price": line.store_price,
            "from_order_lines": json.loads(line.allocations) if line.allocations else [],
        }
        for line in lines
    ]
    return data


def summary(ret: StoreReturn, order: WebOrder | None) -> dict[str, Any]:
    return {
        "id": ret.id,
        "key": ret.return_key,
        "status": ret.status,
        "reason_code": ret.reason_code,
        "reason": ret.reason,
        "store": {
            "connection": ret.connection,
            "ticket": ret.ticket_key,
            "location": ret.location,
            "occurred_at": _iso(ret.occurred_at),
        },
        "reference": ret.reference,
        "order": None
        if order is None
        else {
            "connection": order.connection,
            "number": order.number,
            "id": order.order_id,
            "ticket": order.ticket_key,
        },
        "currency": ret.currency,
        "paid": ret.paid,
        "refunded": ret.refunded,
        "difference": {
            "status": ret.difference_status,
            "amount": ret.difference if ret.difference_status == "flagged" else None,
            "currency": ret.currency,
            "cause": ret.difference_cause,
            "event_id": ret.event_id,
        },
        "shop": {
            "status": ret.shop_status,
            "outbox_id": ret.outbox_id,
            "detail": ret.shop_detail,
        },
        "attempts": ret.attempts,
        "created_at": _iso(ret.created_at),
        "matched_at": _iso(ret.matched_at),
    }


def _orders(s: Session, ids: set[int]) -> dict[int | None, WebOrder]:
    if not ids:
        return {}
    return {o.id: o for o in s.scalars(select(WebOrder).where(WebOrder.id.in_(ids)))}


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
