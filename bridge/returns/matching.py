"""Matching store returns to web orders, in the transaction that journaled either of them.

A store ticket's return lines are grouped by the order number they (or the ticket) carry;
each group is one store return, recorded before anything is decided, so nothing is lost:
an unknown number, an ambiguous one or more units than the order has left to return leaves
it ``unmatched`` with the reason, and the arrival of a web order with that number tries it
again. Matching locks the order's lines, takes the returned units from the lines of the same
SKU (oldest line first) and adds them to what those lines have had returned: all or nothing,
so the sum of every visit never exceeds what was bought.

A match then compares prices (``pricing``), queues the ``returns`` write to the shop that
sold the order (``sink``) and, for a flagged difference, emits ``return.price_difference``;
both are asked for after the commit through the follow-ups.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.connector import ReturnWrite
from bridge.events import DELIVER, emit
from bridge.mapping.plan import MappingPlan
from bridge.model import BasketLine, Money, Sale, SaleLine
from bridge.returns import orders, pricing
from bridge.returns.numbers import normalise
from bridge.returns.push import SEND
from bridge.returns.sink import queue
from bridge.returns.tables import StoreReturn, StoreReturnLine, WebOrder, WebOrderLine
from bridge.store.tables import SaleRow
from bridge.store.upsert import insert_ignore
from bridge.sync.ledger import from_e4, to_e4

log = structlog.get_logger(__name__)

Followups = list[tuple[str, tuple[object, ...]]]
TOPIC = "return.price_difference"
WAITING = ("unknown_order", "order_not_completed")
"""Reasons a new version of an order may lift: it was not journaled yet, or not complete."""


@dataclass(frozen=True)
class _Group:
    alias: str
    reference: str
    lines: tuple[SaleLine, ...]


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


# -- the two arrivals ---------------------------------------------------------------------


def store_sale(
    s: Session,
    plan: MappingPlan,
    connection: str,
    sale: Sale,
    location: str,
    followups: Followups,
) -> list[StoreReturn]:
    """Record the web-order returns of a store ticket and try to match each one."""
    ticket_key = sale.key.as_string()
    found = []
    for group in _groups(sale):
        ret = _record(s, connection, ticket_key, location, sale, group)
        if ret.status == "unmatched":
            attempt(s, plan, ret, followups)
        found.append(ret)
    return found


def web_order(
    s: Session, plan: MappingPlan, connection: str, sale: Sale, raw: object, followups: Followups
) -> WebOrder | None:
    """Index a journaled web order and match the returns that were waiting for it.

    The journal's row is the truth (it holds the latest version of the order, whichever
    version this event carried); ``raw`` is this event's payload, used when it is that row's.
    """
    if not orders.is_order(sale):
        return None
    row = s.scalars(
        select(SaleRow).where(
            SaleRow.connection == connection, SaleRow.ticket_key == sale.key.as_string()
        )
    ).one_or_none()
    if row is not None:
        latest = Sale.model_validate_json(row.payload)
        if latest != sale:
            sale, raw = latest, orders.raw_payload(s, row.inbox_id)
    order = orders.index(s, connection, sale, raw, row.id if row is not None else None)
    aliases = orders.aliases_of(s, order.id)
    waiting = s.scalars(
        select(StoreReturn)
        .where(
            StoreReturn.status == "unmatched",
            StoreReturn.reason_code.in_(WAITING),
            StoreReturn.alias.in_(aliases),
        )
        .order_by(StoreReturn.id)
    ).all()
    for ret in waiting:
        attempt(s, plan, ret, followups)
    return order


# -- recording ----------------------------------------------------------------------------


def _groups(sale: Sale) -> list[_Group]:
    """Return lines naming a web order, grouped by the (normalised) number they name."""
    grouped: dict[str, tuple[str, list[SaleLine]]] = {}
    for line in sale.stock_lines():
        if not line.is_return or line.quantity >= 0:
            continue
        link = line.link if line.link is not None and line.link.order_reference else sale.link
        reference = link.order_reference if link is not None else None
        alias = normalise(reference) if reference else ""
        if not reference or not alias:
            continue
        grouped.setdefault(alias, (reference, []))[1].append(line)
    return [_Group(alias, ref, tuple(lines)) for alias, (ref, lines) in grouped.items()]


def _record(
    s: Session, connection: str, ticket_key: str, location: str, sale: Sale, group: _Group
) -> StoreReturn:
    return_key = f"{connection}:{ticket_key}:{group.alias}"
    if len(return_key) > 400:
        return_key = f"{connection}:" + hashlib.sha256(return_key.encode()).hexdigest()
    insert_ignore(
        s,
        StoreReturn,
        {
            "return_key": return_key,
            "connection": connection,
            "ticket_key": ticket_key,
            "location": location,
            "occurred_at": sale.occurred_at,
            "reference": group.reference[:255],
            "alias": group.alias,
            "currency": sale.currency,
            "status": "unmatched",
            "difference_status": "pending",
            "shop_status": "none",
            "attempts": 0,
            "created_at": datetime.now(UTC),
        },
        ("return_key",),
    )
    ret = s.scalars(select(StoreReturn).where(StoreReturn.return_key == return_key)).one()
    for line in group.lines:
        insert_ignore(
            s,
            StoreReturnLine,
            {
                "return_id": ret.id,
                "line_no": line.line_no,
                "sku": line.sku,
                "quantity_e4": to_e4(-line.quantity),
                "amount": _positive(line.amount),
                "unit_price": _positive(line.unit_price),
            },
            ("return_id", "line_no"),
        )
    return ret


def _positive(money: Money | None) -> str | None:
    return None if money is None else format(abs(money.amount), "f")


# -- matching -----------------------------------------------------------------------------


def attempt(s: Session, plan: MappingPlan, ret: StoreReturn, followups: Followups) -> bool:
    """Try to match an unmatched return; True when it is matched now."""
    ret.attempts = (ret.attempts or 0) + 1
    found = orders.find(s, ret.reference)
    if not found:
        return _unmatched(
            ret,
            "unknown_order",
            f"no web order numbered {ret.reference!r} is known yet; it is matched when the "
            "order is journaled",
        )
    if len(found) > 1:
        names = ", ".join(f"{o.number} on {o.connection}" for o in found)
        return _unmatched(ret, "ambiguous", f"{ret.reference!r} names several orders: {names}")
    (order,) = found
    if order.status != "completed":
        return _unmatched(
            ret,
            "order_not_completed",
            f"order {order.number} on {order.connection} is {order.status}",
        )
    lines = s.scalars(
        select(StoreReturnLine)
        .where(StoreReturnLine.return_id == ret.id)
        .order_by(StoreReturnLine.id)
    ).all()
    try:
        taken = _allocate(s, order, lines)
    except _Refused as exc:
        return _unmatched(ret, exc.code, str(exc))
    ret.status, ret.reason_code, ret.reason = "matched", None, None
    ret.web_order_id, ret.matched_at = order.id, datetime.now(UTC)
    returned = []
    for line, parts in zip(lines, taken, strict=True):
        line.allocations = json.dumps(
            [{"line_no": w.line_no, "quantity": format(from_e4(e4), "f")} for w, e4 in parts]
        )
        returned.append(
            pricing.Returned(
                line_no=line.line_no,
                sku=line.sku,
                quantity=from_e4(line.quantity_e4),
                amount=None if line.amount is None else Decimal(line.amount),
                unit_price=None if line.unit_price is None else Decimal(line.unit_price),
                allocations=[(w, from_e4(e4)) for w, e4 in parts],
            )
        )
    comparison = pricing.compare(s, plan, ret.location, ret.currency, order, returned)
    _keep(s, ret, lines, order, comparison, followups)
    write = _write(plan, ret, order, lines)
    ret.outbox_id = queue(s, order.connection, ret, write, plan.version)
    ret.shop_status, ret.shop_detail = "pending", None
    followups.append((SEND, (ret.outbox_id,)))
    log.info(
        "store_return_matched",
        ticket=ret.ticket_key,
        order=order.number,
        shop=order.connection,
        difference=ret.difference_status,
    )
    return True


def _unmatched(ret: StoreReturn, code: str, reason: str) -> bool:
    ret.status, ret.reason_code, ret.reason = "unmatched", code, reason
    log.info("store_return_unmatched", ticket=ret.ticket_key, reference=ret.reference, why=code)
    return False


def _allocate(
    s: Session, order: WebOrder, lines: Sequence[StoreReturnLine]
) -> list[list[tuple[WebOrderLine, int]]]:
    """Take each returned line's units from the order's lines of that SKU, or refuse all.

    The order's lines are locked first (PostgreSQL; SQLite writers are serialised), so two
    tills returning the same order at once see each other's returns."""
    web = s.scalars(
        select(WebOrderLine)
        .where(WebOrderLine.order_id == order.id)
        .order_by(WebOrderLine.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the locked values, not the session's
    ).all()
    free = {w.id: w.quantity_e4 - w.returned_e4 for w in web}
    plan: list[list[tuple[WebOrderLine, int]]] = []
    for line in lines:
        same = [w for w in web if w.sku == line.sku]
        if not same:
            raise _Refused("sku_not_on_order", f"SKU {line.sku} is not on order {order.number}")
        need, parts = line.quantity_e4, []
        for w in same:
            take = min(need, free[w.id])
            if take > 0:
                parts.append((w, take))
                free[w.id] -= take
                need -= take
        if need:
            bought = sum(w.quantity_e4 for w in same)
            left = bought - sum(w.returned_e4 for w in same)
            raise _Refused(
                "over_return",
                f"SKU {line.sku}: {from_e4(line.quantity_e4)} returned on this ticket, but only "
                f"{from_e4(max(left, 0))} of the {from_e4(bought)} bought on order "
                f"{order.number} are left to return",
            )
        plan.append(parts)
    for parts in plan:
        for w, take in parts:
            w.returned_e4 += take
    s.flush()
    return plan


def _keep(
    s: Session,
    ret: StoreReturn,
    lines: Sequence[StoreReturnLine],
    order: WebOrder,
    comparison: pricing.Comparison,
    followups: Followups,
) -> None:
    """Store the comparison on the return and announce a flagged difference once."""
    ret.difference_status = comparison.status
    ret.difference_cause = comparison.cause
    ret.paid, ret.refunded, ret.difference = (
        _text(comparison.paid),
        _text(comparison.refunded),
        _text(comparison.difference),
    )
    for line, result in zip(lines, comparison.lines, strict=True):
        line.paid, line.refunded = _text(result.paid), _text(result.refunded)
        line.store_price = _text(result.store_price)
    if comparison.status != "flagged":
        return
    key = f"{TOPIC}:{ret.return_key}"
    if len(key) > 400:
        key = f"{TOPIC}:" + hashlib.sha256(key.encode()).hexdigest()
    event_id = emit(
        s,
        TOPIC,
        f"return/{ret.id}",
        {
            "return": ret.return_key,
            "store": {"connection": ret.connection, "ticket": ret.ticket_key},
            "location": ret.location,
            "order": {"connection": order.connection, "number": order.number, "id": order.order_id},
            "currency": comparison.currency,
            "paid": comparison.paid,
            "refunded": comparison.refunded,
            "difference": comparison.difference,
            "cause": comparison.cause,
            "lines": [
                {
                    "sku": r.sku,
                    "quantity": r.quantity,
                    "paid": r.paid,
                    "refunded": r.refunded,
                    "store_price": r.store_price,
                }
                for r in comparison.lines
            ],
        },
        key=key,
    )
    if event_id is not None:
        ret.event_id = event_id
        followups.append((DELIVER, (event_id,)))


def _write(
    plan: MappingPlan, ret: StoreReturn, order: WebOrder, lines: Sequence[StoreReturnLine]
) -> ReturnWrite:
    """What the shop is told: its SKUs, the units, what the till refunded, where."""
    amounts = [None if line.amount is None else Decimal(line.amount) for line in lines]
    known = all(a is not None for a in amounts)
    refund = sum((a for a in amounts if a is not None), Decimal(0))
    basket = []
    for line, amount in zip(lines, amounts, strict=True):
        quantity = from_e4(line.quantity_e4)
        unit = None
        if amount is not None:
            unit = Money(amount=_unit(amount, quantity), currency=ret.currency)
        basket.append(
            BasketLine(
                sku=plan.sku_out(order.connection, line.sku), quantity=quantity, unit_price=unit
            )
        )
    refunded = f"{refund} {ret.currency}" if known else "an amount the ticket does not state"
    return ReturnWrite(
        key=f"{ret.ticket_key}#{order.order_id}"[:255],
        order_reference=order.order_id,
        lines=tuple(basket),
        refund=Money(amount=refund, currency=ret.currency) if known else None,
        restocked_at=plan.location_out(order.connection, ret.location),
        note=(
            f"Returned at store {ret.location} (ticket {ret.ticket_key}); {refunded} refunded "
            "at the till"
        ),
    )


def _unit(amount: Decimal, quantity: Decimal) -> Decimal:
    unit = amount / quantity
    exact = unit.quantize(pricing.CENT, rounding=ROUND_HALF_UP)
    return exact if exact * quantity == amount else unit.quantize(Decimal("0.0001"))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
