"""Stock arithmetic over the ledger: on hand, reservations, what a shop may sell."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bridge.mapping.stockpolicy import StockPolicy
from bridge.model import MovementReason, StockLevel
from bridge.store.tables import StockMovementRow

SCALE = Decimal(10000)
_RESERVING = (MovementReason.RESERVATION.value, MovementReason.RELEASE.value)


def to_e4(quantity: Decimal) -> int:
    """Decimal quantity -> integer units of 1/10,000; more decimals than that is refused."""
    scaled = quantity * SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"quantity {quantity} has more than 4 decimals")
    return int(scaled)


def from_e4(value: int | None) -> Decimal:
    return (Decimal(value or 0) / SCALE).normalize() + Decimal(0)


def levels(
    session: Session,
    pairs: Iterable[tuple[str, str]],
    buffers: dict[str, Decimal] | None = None,
    *,
    own: str | None = None,
) -> dict[tuple[str, str], StockLevel]:
    """On hand and reserved for each (sku, location), summed from the ledger in one query.

    ``own``: a shop connection whose own orders' holds are left out of ``reserved``: the
    shop already subtracts its open orders itself, and must not see them twice.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    skus = {sku for sku, _ in wanted}
    reserving = StockMovementRow.reason.in_(_RESERVING)
    counted = reserving
    if own is not None:
        source = StockMovementRow.source_connection
        counted = and_(reserving, or_(source.is_(None), source != own))
    rows = session.execute(
        select(
            StockMovementRow.sku,
            StockMovementRow.location,
            func.sum(case((reserving, 0), else_=StockMovementRow.delta_e4)),
            func.sum(case((counted, StockMovementRow.delta_e4), else_=0)),
        )
        .where(StockMovementRow.sku.in_(skus))
        .group_by(StockMovementRow.sku, StockMovementRow.location)
    ).all()
    found = {(sku, loc): (on_hand, reserved) for sku, loc, on_hand, reserved in rows}
    buffers = buffers or {}
    result = {}
    for sku, loc in wanted:
        on_hand, reserved = found.get((sku, loc), (0, 0))
        result[(sku, loc)] = StockLevel(
            sku=sku,
            location=loc,
            on_hand=from_e4(on_hand),
            reserved=from_e4(reserved),
            safety_buffer=buffers.get(loc, Decimal(0)),
        )
    return result


def publishable(
    session: Session,
    policy: StockPolicy,
    pairs: Iterable[tuple[str, str]],
    *,
    rules: bool = True,
    own: str | None = None,
) -> dict[tuple[str, str], Decimal]:
    """What a shop may sell for each (sku, location or pool), after the mapping's stock rules.

    With ``rules=False`` (a POS told its own stock) it is on hand less reservations: safety
    buffers and minimums protect web sales, not the counter. A pool's members are read in
    the same query as the real locations.
    """
    wanted = list(dict.fromkeys(pairs))
    expanded = {(sku, m) for sku, loc in wanted for m in policy.members(loc)}
    stock = levels(session, expanded, own=own)
    result = {}
    for sku, loc in wanted:
        if not rules:
            members = [stock[(sku, m)] for m in policy.members(loc)]
            result[(sku, loc)] = sum((lv.on_hand - lv.reserved for lv in members), Decimal(0))
        elif loc in policy.pools:
            parts = {
                m: (stock[(sku, m)].on_hand, stock[(sku, m)].reserved) for m in policy.members(loc)
            }
            result[(sku, loc)] = policy.pooled(sku, loc, parts)
        else:
            level = stock[(sku, loc)]
            result[(sku, loc)] = policy.available(sku, loc, level.on_hand, level.reserved)
    return result
