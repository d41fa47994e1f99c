"""Load what judging a page of SKUs needs, in a few queries per page (never one per SKU).

A catalogue of 100,000 SKUs is read page by page in SKU order (keyset paging on the
referential's SKU index): per page, one query for the prices, one for what each shop holds,
one for what tills rang up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

from bridge.parity.evaluate import Held, Ring
from bridge.parity.tables import TillPrice
from bridge.store.tables import PricePublication, PriceRow

PAGE = 1000


@dataclass
class Page:
    skus: list[str]
    prices: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    updated: dict[str, dict[str, datetime]] = field(default_factory=dict)
    held: dict[str, dict[str, Held]] = field(default_factory=dict)
    rings: dict[str, dict[str, Ring]] = field(default_factory=dict)


def sku_pages(
    sessions: sessionmaker[Session],
    *,
    after: str | None = None,
    only: Sequence[str] | None = None,
    size: int = PAGE,
) -> Iterator[list[str]]:
    """SKUs of the referential in order, a page at a time (each page its own short read),
    or the SKUs of ``only`` in pages when given."""
    if only is not None:
        wanted = sorted({sku for sku in only if after is None or sku > after})
        for start in range(0, len(wanted), size):
            yield wanted[start : start + size]
        return
    while True:
        with sessions() as s:
            query = select(PriceRow.sku).distinct().order_by(PriceRow.sku).limit(size)
            if after is not None:
                query = query.where(PriceRow.sku > after)
            page = list(s.scalars(query))
        if not page:
            return
        yield page
        if len(page) < size:
            return
        after = page[-1]


def among(s: Session, column: Any, values: Sequence[str]) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one parameter for a page of a
    thousand SKUs instead of a thousand (the query text, and its plan, stay the same)."""
    if s.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    return column.in_(values)


def load(s: Session, skus: Sequence[str], channels: Sequence[str], tills: bool = True) -> Page:
    page = Page(list(skus))
    if not skus:
        return page
    core = s.connection()  # plain rows: the ORM's per-row work is not needed for columns
    rows = core.execute(
        select(PriceRow.sku, PriceRow.price_list, PriceRow.amount, PriceRow.updated_at).where(
            among(s, PriceRow.sku, skus)
        )
    )
    for sku, price_list, amount, updated_at in rows:
        page.prices.setdefault(sku, {})[price_list] = Decimal(amount)
        page.updated.setdefault(sku, {})[price_list] = updated_at
    if channels:
        pubs = core.execute(
            select(
                PricePublication.sku,
                PricePublication.connection,
                PricePublication.dirty,
                PricePublication.claimed_by,
                PricePublication.published,
                PricePublication.published_at,
                PricePublication.fingerprint,
            ).where(among(s, PricePublication.sku, skus), PricePublication.connection.in_(channels))
        )
        for sku, connection, dirty, claimed_by, published, published_at, print_ in pubs:
            page.held.setdefault(sku, {})[connection] = held_state(
                dirty, claimed_by, published, published_at, print_
            )
    if tills:
        for obs in s.scalars(select(TillPrice).where(among(s, TillPrice.sku, skus))):
            page.rings.setdefault(obs.sku, {})[obs.location] = Ring(
                Decimal(obs.amount), obs.currency, obs.ticket_key, obs.connection, obs.rung_at
            )
    return page


def held_state(
    dirty: bool,
    claimed_by: int | None,
    published: str | None,
    published_at: datetime | None,
    print_: str | None = None,
) -> Held:
    """What a publication row says the shop holds."""
    if dirty or claimed_by is not None:
        return Held("pending")
    if not published:
        return Held("never")
    try:
        body = json.loads(published)
        price = Decimal(body["price"]) if body.get("price") is not None else None
        was = Decimal(body["compare_at"]) if body.get("compare_at") is not None else None
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation):
        price = was = None  # unreadable as a price: the fingerprint still tells
    return Held("published", price, was, published_at, print_)
