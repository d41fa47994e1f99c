"""A web order holds stock at the store that fulfils it, through the ledger.

Each version of an order (``bridge.orders.journal``) sets what each of its lines holds:

* placed or edited (status ``completed``, not shipped): the line's quantity;
* cancelled or voided, or a test/suspended order: nothing;
* shipped, as the shop says (``orders.<shop>.fulfilled``): nothing, and the goods are
  recorded sold at the store (on hand decreases) once. Final: later versions (a refund, a
  cancellation after shipping) are journaled and move no stock; returns do that.

A change of hold is one ledger movement (``reservation`` up, ``release`` down) keyed by
connection, order, line and the version that made it, so a replay adds nothing. The ledger
counts holds apart from on hand: every other shop publishing the store is made stale and
sells only what is left. The ordering shop is not: it counts its own open orders itself
(Oscar ``num_allocated``, Vendure ``stockAllocated``); a sale changes on hand for all.
The store's tills that can show holds (``write_reservations``) are told after the commit
(``bridge.orders.push``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.errors import DataError
from bridge.mapping.plan import MappingPlan
from bridge.model import MovementReason, Sale, SaleLine, SaleStatus
from bridge.orders import journal
from bridge.orders.fulfilment import named_store, shipped, store_for
from bridge.orders.spec import WebOrderSpec
from bridge.orders.tables import OrderHoldRow, WebOrderRow
from bridge.store.tables import InboxRow, StockMovementRow
from bridge.store.upsert import insert_ignore
from bridge.sync.ledger import to_e4

OPEN, CANCELLED, INACTIVE, FULFILLED = "open", "cancelled", "inactive", "fulfilled"
PUSH = "brique.push_reservations"
"""Follow-up task: tell the tills of the given store codes what their web orders hold."""

Followups = list[tuple[str, tuple[object, ...]]]
HoldKey = tuple[str, str, str]
"""(line_no, sku, location)."""


def apply_web_order(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    inbox: InboxRow,
    sale: Sale,
    journaled: int | None,
    followups: Followups,
) -> set[str]:
    """Journal a web order's version and move its holds; returns the shops made stale.

    ``sale`` is canonical (SKUs in Brique's terms); ``journaled`` is the ``sales`` id when
    the caller's insert just created the row. A shop without ``orders.<shop>`` in the
    mapping only has its versions journaled.
    """
    spec = plan.spec.orders.get(inbox.connection)
    native = _native(inbox) if spec is not None else {}
    fulfilled = spec is not None and sale.status is SaleStatus.COMPLETED and shipped(spec, native)
    named = named_store(spec, native) if spec is not None else None
    version = journal.record(s, inbox, sale, journaled, fulfilled, named)
    if spec is None or not version.recorded:
        return set()
    return hold(s, plan, shops, inbox.connection, sale, version, spec, followups)


def _native(inbox: InboxRow) -> Mapping[str, Any]:
    """The order as the shop sent it (before inbound field rules): where it says it ships."""
    try:
        payload = json.loads(inbox.payload)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def state_of(sale: Sale, fulfilled: bool) -> str:
    if sale.status in (SaleStatus.CANCELLED, SaleStatus.VOIDED):
        return CANCELLED
    if sale.status is not SaleStatus.COMPLETED:
        return INACTIVE
    return FULFILLED if fulfilled else OPEN


def hold(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    connection: str,
    sale: Sale,
    version: journal.Version,
    spec: WebOrderSpec,
    followups: Followups,
) -> set[str]:
    """Bring the order's holds to what ``version`` says, in the ledger and its rows."""
    order_key = sale.key.as_string()
    order = s.scalar(
        select(WebOrderRow)
        .where(WebOrderRow.connection == connection, WebOrderRow.order_key == order_key)
        .with_for_update()
    )
    if order is not None and order.state == FULFILLED:
        order.version = version.number  # the goods left: journal only
        return set()
    state = state_of(sale, version.fulfilled)
    lines = _lines(sale)
    location = order.location if order is not None else None
    if state in (OPEN, FULFILLED) and lines:
        location = store_for(plan, connection, sale, spec, version.store)
    now = datetime.now(UTC)
    if order is None:
        order = WebOrderRow(
            connection=connection,
            order_key=order_key,
            order_number=sale.key.transaction_id or order_key,
            sale_id=version.sale_id,
            location=location,
            state=state,
            version=version.number,
            updated_at=now,
        )
        s.add(order)
        s.flush()
    wanted: dict[HoldKey, int] = {}
    if state == OPEN and location is not None:
        for line in lines:
            key = (line.line_no, line.sku, location)
            wanted[key] = wanted.get(key, 0) + _e4(line, order_key)
    common = {
        "source_connection": connection,
        "source_ref": order_key,
        "mapping_version": plan.version,
    }
    moved = _move_holds(s, order, wanted, f"{connection}:{order_key}", version.number, common)
    sold: set[tuple[str, str]] = set()
    if state == FULFILLED and location is not None:
        for line in lines:
            if insert_ignore(
                s,
                StockMovementRow,
                {
                    "movement_key": f"{connection}:{order_key}:{line.line_no}:{line.sku}@"
                    f"{location}:sold",
                    "sku": line.sku,
                    "location": location,
                    "delta_e4": -_e4(line, order_key),
                    "reason": MovementReason.SALE.value,
                    **common,
                },
                ("movement_key",),
            ):
                sold.add((line.sku, location))
    order.state, order.version, order.location, order.updated_at = (
        state,
        version.number,
        location,
        now,
    )
    from bridge.sync.apply import mark_dirty  # the sync layer imports this module lazily

    ref = f"Order/{order_key}"
    others = [shop for shop in shops if shop != connection]
    touched: set[str] = set()
    for sku, at in sorted(moved - sold):
        touched |= mark_dirty(s, plan, others, sku, at, ref)
    for sku, at in sorted(sold):
        touched |= mark_dirty(s, plan, shops, sku, at, ref)
    stores = sorted({at for _, at in moved})
    if stores:
        followups.append((PUSH, tuple(stores)))
    return touched


def _move_holds(
    s: Session,
    order: WebOrderRow,
    wanted: dict[HoldKey, int],
    prefix: str,
    version: int,
    common: dict[str, Any],
) -> set[tuple[str, str]]:
    """Each hold to its wanted quantity by one ledger movement keyed by the version that
    made it (a replay adds nothing); returns the (sku, store) pairs that moved."""
    now = datetime.now(UTC)
    held = {
        (h.line_no, h.sku, h.location): h
        for h in s.scalars(select(OrderHoldRow).where(OrderHoldRow.order_id == order.id))
    }
    moved: set[tuple[str, str]] = set()
    for key in sorted(set(wanted) | set(held)):
        line_no, sku, at = key
        row = held.get(key)
        before = row.held_e4 if row is not None else 0
        delta = wanted.get(key, 0) - before
        if delta == 0:
            continue
        reason = MovementReason.RESERVATION if delta > 0 else MovementReason.RELEASE
        insert_ignore(
            s,
            StockMovementRow,
            {
                "movement_key": f"{prefix}:{line_no}:{sku}@{at}:v{version}",
                "sku": sku,
                "location": at,
                "delta_e4": delta,
                "reason": reason.value,
                **common,
            },
            ("movement_key",),
        )
        if row is None:
            row = OrderHoldRow(order_id=order.id, line_no=line_no, sku=sku, location=at, version=0)
            s.add(row)
        row.held_e4, row.version, row.updated_at = before + delta, (row.version or 0) + 1, now
        moved.add((sku, at))
    return moved


def _lines(sale: Sale) -> list[SaleLine]:
    """The lines that hold goods: sold, not voided, a positive quantity (a web order's
    return lines are the returns domain's)."""
    return [line for line in sale.stock_lines() if line.quantity > 0]


def _e4(line: SaleLine, order_key: str) -> int:
    try:
        return to_e4(line.quantity)
    except ValueError as exc:
        raise DataError(str(exc), record=f"{order_key} line {line.line_no}") from exc
