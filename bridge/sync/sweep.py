"""The sweeper: re-dispatch work whose message was lost (dead worker, embedded transport).

Run periodically by beat. Everything it finds is in the database, which is why a lost
message loses nothing, whatever the transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import import_module

import structlog
from sqlalchemy import and_, or_, select, update

from bridge.store.tables import InboxRow, OutboxRow, PricePublication, StockPublication
from bridge.sync import push_prices
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass
class SweepResult:
    inbox: int = 0
    outbox: int = 0
    pushes: int = 0
    released: int = 0
    domains: dict[str, int] = field(default_factory=dict)
    """What each domain sweep did (see ``DOMAIN_SWEEPS``)."""

    @property
    def events(self) -> int:
        return self.domains.get("events", 0)


def sweep(rt: Runtime, stale_seconds: float | None = None) -> SweepResult:
    stale = stale_seconds if stale_seconds is not None else rt.settings.stale_seconds
    cutoff = datetime.now(UTC) - timedelta(seconds=stale)
    result = SweepResult()
    with rt.transaction() as s:
        inbox = s.execute(
            select(InboxRow.connection, InboxRow.id).where(
                InboxRow.status == "pending", InboxRow.received_at < cutoff
            )
        ).all()
        outbox = s.execute(
            select(OutboxRow.connection, OutboxRow.id).where(
                OutboxRow.status == "pending", OutboxRow.created_at < cutoff
            )
        ).all()
        # A claim whose outbox row ended (sent before a crash, or dead) is freed.
        finished = select(OutboxRow.id).where(OutboxRow.status.in_(("sent", "dead")))
        for table in (StockPublication, PricePublication):
            result.released += s.execute(
                update(table).where(table.claimed_by.in_(finished)).values(claimed_by=None)
            ).rowcount
        dirty = s.scalars(
            select(StockPublication.connection)
            .where(
                StockPublication.dirty.is_(True),
                or_(
                    StockPublication.claimed_by.is_(None),
                    and_(StockPublication.dirty_since < cutoff),
                ),
            )
            .distinct()
        ).all()
        stale_prices = s.scalars(
            select(PricePublication.connection)
            .where(PricePublication.dirty.is_(True), PricePublication.claimed_by.is_(None))
            .distinct()
        ).all()
    by_conn: dict[str, list[int]] = {}
    for conn, row_id in inbox:
        by_conn.setdefault(conn, []).append(row_id)
    for conn, ids in by_conn.items():
        rt.dispatcher.process_inbox(conn, ids)
        result.inbox += len(ids)
    for conn, row_id in outbox:
        rt.dispatcher.send_outbox(conn, row_id)
        result.outbox += 1
    for conn in dirty:
        rt.dispatcher.push_stock(conn)
        result.pushes += 1
    for conn in stale_prices:
        rt.dispatcher.push_prices(conn)
        result.pushes += 1
    result.pushes += len(push_prices.refresh_if_mapping_changed(rt))
    for name, target in DOMAIN_SWEEPS.items():
        result.domains[name] = _domain_sweep(rt, name, target)
    return result


DOMAIN_SWEEPS: dict[str, str] = {
    "parity": "bridge.parity.triggers:scan_if_due",
    "baskets": "bridge.baskets.timers:sweep",
    "events": "bridge.events.delivery:sweep",
    "loyalty": "bridge.loyalty.push:sweep",
    "reservations": "bridge.orders.push:sweep",
}
"""Each domain's periodic work, ``fn(rt) -> int`` (how much it queued or changed): basket
timers, lost event deliveries, stale loyalty balances, holds no till was told of, the
price parity scan when due. Imported when used: the sync layer does not import domains."""


def _domain_sweep(rt: Runtime, name: str, target: str) -> int:
    """One domain's sweep; its failure is logged and never stops the others' (a broken
    parity policy must not hold back event deliveries)."""
    module, _, attribute = target.partition(":")
    try:
        return int(getattr(import_module(module), attribute)(rt))
    except Exception:
        log.exception("sweep_failed", domain=name)
        return 0
