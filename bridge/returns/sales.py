"""The returns domain's sale hook (``bridge.sync.sale_hooks``).

A store ticket may return web orders; a web order may be what a store return was waiting
for. Both run in the sale's own transaction, inside a savepoint: a returns problem never
loses the sale. It becomes a dead letter of stage ``returns`` whose replay processes the
inbox row again (the journal, the ledger and every hook are idempotent), so it is not lost
either.
"""

from __future__ import annotations

import structlog

from bridge.errors import BriqueError
from bridge.returns import matching, orders
from bridge.returns.sink import STAGE
from bridge.sync import deadletters
from bridge.sync.sale_hooks import SaleContext

log = structlog.get_logger(__name__)


def on_sale(ctx: SaleContext) -> None:
    followups: matching.Followups = []
    s = ctx.session
    try:
        with s.begin_nested():
            if ctx.location is not None:
                matching.store_sale(s, ctx.plan, ctx.connection, ctx.sale, ctx.location, followups)
            elif orders.is_order(ctx.sale):
                raw = orders.raw_payload(s, ctx.inbox_id)
                matching.web_order(s, ctx.plan, ctx.connection, ctx.sale, raw, followups)
    except (BriqueError, ValueError, ArithmeticError) as exc:
        ticket = ctx.sale.key.as_string()
        log.warning("returns_hook_failed", connection=ctx.connection, ticket=ticket, error=str(exc))
        deadletters.record(
            s, connection=ctx.connection, stage=STAGE, error=exc, ref_id=ctx.inbox_id,
            record=f"inbox:{ctx.inbox_id}", payload=ticket,
        )  # fmt: skip
        return
    ctx.followups.extend(followups)
