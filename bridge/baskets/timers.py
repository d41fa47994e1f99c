"""Time-driven basket transitions, run by the sweeper: idle carts become abandoned, then
expired; and the guard check a store sale asks for.

Each transition is one journal entry keyed by the basket and the event, so two sweepers
racing (or a sweep re-run after a crash) journal it once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select

from bridge.baskets import guard, journal, people, service
from bridge.baskets.journal import Followups
from bridge.baskets.tables import BasketRow
from bridge.sync.followups import SEND_OUTBOX
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)
BATCH = 200


def tick(rt: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Abandon idle web carts and expire idle open baskets; returns counts."""
    config = rt.settings.baskets
    now = now or datetime.now(UTC)
    window = timedelta(seconds=config.guard_window_seconds)
    counts = {"abandoned": 0, "expired": 0}
    follow: Followups = []
    expire_before = now - timedelta(seconds=config.expire_after_seconds)
    abandon_before = now - timedelta(seconds=config.abandon_after_seconds)
    with rt.transaction() as s:
        plan = rt.mapping.plan
        for row in s.scalars(
            select(BasketRow)
            .where(
                BasketRow.status.in_(service.OPEN_STATUSES),
                BasketRow.last_activity_at < expire_before,
            )
            .order_by(BasketRow.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ):
            entry = journal.append(
                s,
                row,
                "expired",
                key=f"{row.code}:expired",
                status="expired",
                detail={"idle_since": row.last_activity_at},
            )
            if entry:
                counts["expired"] += 1
                follow += entry
                follow += [(SEND_OUTBOX, (i,)) for i in service.close_writes(s, plan, row, None)]
        for row in s.scalars(
            select(BasketRow)
            .where(
                BasketRow.channel == "web",
                BasketRow.status == "active",
                BasketRow.last_activity_at < abandon_before,
            )
            .order_by(BasketRow.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ):
            if row.golden_id is None and row.customer:
                # The customer may have been identified since (an account, a ticket).
                from bridge.model import CustomerRef

                ref = CustomerRef.model_validate_json(row.customer)
                row.golden_id = people.resolve(s, row.source_connection or "api", ref)
            bought, marked = guard.check(s, row, window)
            entry = journal.append(
                s,
                row,
                "abandoned",
                key=f"{row.code}:abandoned:{row.last_activity_at.isoformat()}",
                status="abandoned",
                detail={
                    "idle_since": row.last_activity_at,
                    "actionable": not bought,
                    "reason": "purchased_in_store" if bought else None,
                },
            )
            follow += marked + entry
            counts["abandoned"] += bool(entry)
    for task, ids in follow:
        rt.dispatcher.call(task, *ids)
    if any(counts.values()):
        log.info("basket_timers", **counts)
    return counts


def sweep(rt: Runtime) -> int:
    """The sweeper's call: baskets abandoned or expired now."""
    return sum(tick(rt).values())


def guard_customer(rt: Runtime, golden_id: int) -> int:
    """After a store sale by ``golden_id``: mark their open web carts whose items they
    bought. Returns how many were marked now."""
    window = timedelta(seconds=rt.settings.baskets.guard_window_seconds)
    follow: Followups = []
    marked = 0
    with rt.transaction() as s:
        ids = people.members(s, golden_id)
        carts = s.scalars(
            select(BasketRow).where(
                BasketRow.golden_id.in_(ids),
                BasketRow.channel == "web",
                BasketRow.status.in_(guard.GUARDED),
                BasketRow.bought_in_store_ref.is_(None),
            )
        ).all()
        for cart in carts:
            done, entry = guard.check(s, cart, window)
            marked += bool(done and entry)
            follow += entry
    for task, ids in follow:
        rt.dispatcher.call(task, *ids)
    return marked
