"""What a journaled sale tells the baskets: which basket it completes, and what an
identified customer bought in a store (for the abandoned-cart guard)."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import select

from bridge.baskets import codes, inbound, people, service
from bridge.baskets.tables import BasketHandoffRow, BasketRow, StorePurchaseRow
from bridge.store.upsert import insert_ignore
from bridge.sync.ledger import to_e4
from bridge.sync.sale_hooks import SaleContext

log = structlog.get_logger(__name__)

GUARD = "brique.basket_guard"
"""Follow-up: check a customer's open web carts against their store purchases."""


def on_sale(ctx: SaleContext) -> None:
    sale = ctx.sale
    if not sale.status.moves_stock:
        return
    ref = f"{ctx.connection}/{sale.key.as_string()}"
    row = _completed_basket(ctx)
    if row is not None:
        ctx.followups.extend(inbound.convert(ctx.session, ctx.plan, row, ref, on=ctx.connection))
    if sale.channel == "store" and sale.customer is not None:
        _record_purchases(ctx, ref)


def _completed_basket(ctx: SaleContext) -> BasketRow | None:
    """The basket named by ``sale.basket``: a Brique code, or the platform's own id."""
    wanted = ctx.sale.basket
    if not wanted:
        return None
    s = ctx.session
    try:
        stored = codes.normalise(wanted)
    except codes.CodeError:
        stored = None
    if stored is not None:
        row = s.scalar(select(BasketRow).where(BasketRow.code == stored))
        if row is not None:
            return row
    row = service.by_source(s, ctx.connection, wanted)
    if row is not None:
        return row
    handoff = s.scalar(
        select(BasketHandoffRow).where(
            BasketHandoffRow.connection == ctx.connection,
            BasketHandoffRow.external_id == wanted,
        )
    )
    if handoff is not None:
        return s.get(BasketRow, handoff.basket_id)
    log.info("basket_not_found", connection=ctx.connection, basket=wanted)
    return None


def _record_purchases(ctx: SaleContext, ref: str) -> None:
    s, sale = ctx.session, ctx.sale
    region = next((loc.region for loc in ctx.plan.spec.locations if loc.code == ctx.location), None)
    golden_id = people.resolve(s, ctx.connection, sale.customer, region)
    if golden_id is None:
        return
    at = sale.occurred_at or datetime.now(UTC)
    key = sale.key.as_string()
    skus = set()
    for line in sale.stock_lines():
        if line.quantity <= 0:
            continue
        skus.add(line.sku)
        insert_ignore(
            s,
            StorePurchaseRow,
            {
                "golden_id": golden_id,
                "sku": line.sku,
                "quantity_e4": to_e4(line.quantity),
                "at": at,
                "connection": ctx.connection,
                "ticket_key": key,
                "line_no": line.line_no,
                "location": ctx.location,
            },
            ("connection", "ticket_key", "line_no"),
        )
    if skus:
        # The check needs the guard window (settings): it runs after the commit.
        ctx.followups.append((GUARD, (golden_id,)))
