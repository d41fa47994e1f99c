"""What else a journaled sale feeds, in the sale's own transaction.

The journal and the stock ledger come first (``bridge.sync.apply``); then each domain that
learns from sales (baskets converted at a till, loyalty points, returns of web orders) gets
the canonical sale here. A hook must be idempotent (the same ticket may be applied again
after a crash: ``first`` says whether this is the journal's first sight of it) and must not
lose the sale: a domain problem is logged or recorded by the hook, never raised, unless the
sale itself is unreadable (``DataError``, which dead-letters the event).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bridge.mapping.plan import MappingPlan
from bridge.model import Sale


@dataclass
class SaleContext:
    session: Session
    plan: MappingPlan
    shops: Sequence[str]
    connection: str
    sale: Sale
    """The canonical sale (SKUs, tenders and units in Brique's terms)."""
    location: str | None
    """Brique's location code for a store sale; None for a web order."""
    inbox_id: int
    first: bool
    """True when this call journaled the sale (False on a replay of the same ticket)."""
    touched: set[str] = field(default_factory=set)
    """Shop connections a hook made stale (stock): the caller queues their pushes."""
    followups: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    """(task, ids) a hook wants run after the commit, e.g. ``("brique.deliver_event", (7,))``."""


Hook = Callable[[SaleContext], None]


def _hooks() -> list[Hook]:
    # Imported here: the domains import the sync layer, not the other way round at import.
    from bridge.baskets.sales import on_sale as baskets_on_sale
    from bridge.loyalty.sales import on_sale as loyalty_on_sale
    from bridge.returns.sales import on_sale as returns_on_sale

    return [baskets_on_sale, loyalty_on_sale, returns_on_sale]


def after_sale(ctx: SaleContext) -> None:
    """Run every domain hook on a journaled sale, in order."""
    for hook in _hooks():
        hook(ctx)
