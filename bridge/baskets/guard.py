"""The abandoned-cart guard: no reminder for what the customer already bought in a store.

A web cart is *purchased in store* when the same golden customer bought every SKU of it,
in at least the cart's quantity, at a till within the guard window around the cart's last
activity. Either order of arrival works: a store sale checks the customer's open carts, and
a cart turning abandoned checks the purchases already recorded. Buying something else
leaves the cart actionable.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.baskets import journal, people, service
from bridge.baskets.journal import Followups
from bridge.baskets.tables import BasketRow, StorePurchaseRow
from bridge.sync.ledger import from_e4

GUARDED = ("active", "abandoned")


def bought(
    s: Session, golden_id: int, skus: set[str], around: datetime, window: timedelta
) -> tuple[dict[str, Decimal], str | None]:
    """Quantities of ``skus`` the customer (and records merged into it) bought in stores
    within ``window`` of ``around``, and the latest ticket among them."""
    ids = people.members(s, golden_id)
    rows = s.execute(
        select(
            StorePurchaseRow.sku,
            func.sum(StorePurchaseRow.quantity_e4),
            func.max(StorePurchaseRow.connection + "/" + StorePurchaseRow.ticket_key),
        )
        .where(
            StorePurchaseRow.golden_id.in_(ids),
            StorePurchaseRow.sku.in_(skus),
            StorePurchaseRow.at >= around - window,
            StorePurchaseRow.at <= around + window,
        )
        .group_by(StorePurchaseRow.sku)
    ).all()
    refs = sorted(ref for _, _, ref in rows if ref)
    return {sku: from_e4(q) for sku, q, _ in rows}, (refs[-1] if refs else None)


def covered(row: BasketRow, quantities: dict[str, Decimal]) -> bool:
    """Every SKU of the cart bought in at least the cart's quantity."""
    need: dict[str, Decimal] = defaultdict(Decimal)
    for line in service.lines_of(row):
        need[line.sku] += line.quantity
    return bool(need) and all(quantities.get(sku, Decimal(0)) >= q for sku, q in need.items())


def check(s: Session, row: BasketRow, window: timedelta) -> tuple[bool, Followups]:
    """Mark ``row`` purchased in store if its items were bought; (marked now or before,
    follow-ups)."""
    if row.bought_in_store_ref:
        return True, []
    if row.channel != "web" or row.status not in GUARDED:
        return False, []
    golden_id = row.golden_id
    if golden_id is None:
        return False, []
    skus = {line.sku for line in service.lines_of(row)}
    quantities, ref = bought(s, golden_id, skus, _aware(row.last_activity_at), window)
    if not covered(row, quantities) or ref is None:
        return False, []
    row.bought_in_store_ref = ref
    return True, journal.append(
        s,
        row,
        "purchased_in_store",
        key=f"{row.code}:purchased_in_store",
        detail={"ticket": ref, "actionable": False},
    )


def actionable(s: Session, row: BasketRow, window: timedelta) -> bool:
    """Whether a reminder may be sent for this abandoned cart now (read only)."""
    if row.status != "abandoned" or row.bought_in_store_ref:
        return False
    if row.golden_id is None:
        return True
    skus = {line.sku for line in service.lines_of(row)}
    quantities, _ = bought(s, row.golden_id, skus, _aware(row.last_activity_at), window)
    return not covered(row, quantities)


def abandoned_carts(
    s: Session, golden_id: int, window: timedelta, *, only_actionable: bool
) -> list[tuple[BasketRow, bool]]:
    """A customer's abandoned web carts (merged records included), newest first, with
    whether each may get a reminder."""
    ids = people.members(s, golden_id)
    rows = s.scalars(
        select(BasketRow)
        .where(
            BasketRow.golden_id.in_(ids),
            BasketRow.channel == "web",
            BasketRow.status == "abandoned",
        )
        .order_by(BasketRow.last_activity_at.desc(), BasketRow.id.desc())
    ).all()
    found = [(row, actionable(s, row, window)) for row in rows]
    return [(row, ok) for row, ok in found if ok or not only_actionable]


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)
