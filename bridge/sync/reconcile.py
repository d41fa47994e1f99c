"""Periodic stock reconciliation: compare what a shop shows with what the ledger says.

Webhooks can be lost and people edit stock by hand; a shop is never trusted to have
received everything (Shopify itself says to reconcile). Differences are marked stale and
pushed again.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import select, update

from bridge.store.tables import StockPublication
from bridge.sync.apply import mark_dirty
from bridge.sync.ledger import publishable, to_e4
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass
class ReconcileResult:
    checked: int = 0
    drifted: int = 0


def reconcile_stock(rt: Runtime, connection: str, chunk: int = 250) -> ReconcileResult:
    plan = rt.mapping.plan
    connector = rt.connector(connection)
    result = ReconcileResult()
    with rt.sessions() as s:
        pubs = s.execute(
            select(StockPublication.sku, StockPublication.location).where(
                StockPublication.connection == connection,
                StockPublication.dirty.is_(False),
            )
        ).all()
    for start in range(0, len(pubs), chunk):
        part = [(sku, loc) for sku, loc in pubs[start : start + chunk]]
        targets = {(sku, loc): plan.location_out(connection, loc) for sku, loc in part}
        remote = connector.read_stock([(sku, t) for (sku, _), t in targets.items() if t])
        with rt.transaction() as s:
            stock = publishable(s, plan.stock, part, rules=connector.info.kind == "shop")
            for (sku, loc), target in targets.items():
                if target is None:
                    continue
                result.checked += 1
                seen = remote.get((sku, target))
                if seen is None or seen != stock[(sku, loc)]:
                    result.drifted += 1
                    s.execute(  # what the shop holds: the push compares against it
                        update(StockPublication)
                        .where(
                            StockPublication.connection == connection,
                            StockPublication.sku == sku,
                            StockPublication.location == loc,
                        )
                        .values(published_e4=None if seen is None else to_e4(seen))
                    )
                    mark_dirty(s, plan, [connection], sku, loc, f"Reconciliation/{connection}")
    if result.drifted:
        log.warning("stock_drift", connection=connection, **result.__dict__)
        rt.dispatcher.push_stock(connection)
    return result
