"""The basket journeys as the HTTP API, the CLI and tests call them: one function each,
one transaction each, follow-ups dispatched after the commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bridge.baskets import codes, guard, journal, people, service
from bridge.baskets.tables import BasketHandoffRow, BasketJournalRow, BasketRow
from bridge.connector import Capability
from bridge.errors import ConfigError
from bridge.model import BasketLine, CustomerRef
from bridge.sync.followups import SEND_OUTBOX
from bridge.sync.runtime import Runtime


def _dispatch(rt: Runtime, follow: Sequence[tuple[str, tuple[object, ...]]]) -> None:
    for task, ids in follow:
        rt.dispatcher.call(task, *ids)


def build(
    rt: Runtime,
    *,
    lines: Sequence[BasketLine],
    store: str | None = None,
    currency: str | None = None,
    customer: CustomerRef | None = None,
    kind: str = "active",
    request_id: str | None = None,
) -> dict[str, Any]:
    """A basket built in a store (showroom scans) or for a quote / wish list."""
    with rt.transaction() as s:
        row, follow = service.build(
            s,
            rt.mapping.plan,
            store=store,
            currency=currency,
            lines=lines,
            customer=customer,
            kind=kind,
            key=request_id,
        )
        view = detail(s, row)
    _dispatch(rt, follow)
    return view


def show(rt: Runtime, code: str, store: str | None = None) -> dict[str, Any]:
    """A basket with its handoffs and journal; with ``store``, re-priced with that store's
    list and checked against its stock, every difference listed."""
    with rt.sessions() as s:
        row = service.get(s, code)
        view = detail(s, row)
        if store is not None:
            lines = service.at_store(s, rt.mapping.plan, row, store)
            view["at_store"] = {
                "store": store,
                "lines": [line.as_json() for line in lines],
                "differences": sum(1 for line in lines if line.as_json()["notes"]),
            }
        return view


def by_source(rt: Runtime, connection: str, source_id: str) -> dict[str, Any]:
    """The basket Brique made of a platform's cart (its code, to show the customer)."""
    with rt.sessions() as s:
        row = service.by_source(s, connection, source_id)
        if row is None:
            raise service.NotFound(f"no basket from {connection} {source_id!r}")
        return detail(s, row)


def handoff(rt: Runtime, code: str, connection: str, store: str | None = None) -> dict[str, Any]:
    """Open the basket on ``connection`` (a till's draft sale, a shop cart with its link).

    Idempotent: asking again while it is pending or open changes nothing. The platform's
    answer arrives through the outbox; ``show`` then gives its id and link.
    """
    settings = rt.settings.connection(connection)
    if not settings.enabled:
        raise ConfigError(f"connection {connection!r} is disabled")
    capabilities = rt.connector(connection).info.capabilities
    if Capability.WRITE_BASKETS not in capabilities:
        raise ConfigError(f"connection {connection!r} cannot open baskets (no write_baskets)")
    with rt.transaction() as s:
        row = service.get(s, code)
        _, outbox_id, follow = service.handoff(s, rt.mapping.plan, row, connection, store=store)
        if outbox_id is not None:
            follow = [*follow, (SEND_OUTBOX, (outbox_id,))]
    _dispatch(rt, follow)
    return show(rt, code)


def qr_content(rt: Runtime, code: str) -> str:
    """What a basket's QR code holds: the web checkout link once it is open on a shop,
    else the platform's own link, else Brique's page for it, else the code (a till scans
    it and looks the basket up)."""
    with rt.sessions() as s:
        row = service.get(s, code)
        links = s.scalars(
            select(BasketHandoffRow.url).where(
                BasketHandoffRow.basket_id == row.id,
                BasketHandoffRow.status == "open",
                BasketHandoffRow.url.is_not(None),
            )
        ).all()
    if links:
        return links[-1]
    if row.url:
        return row.url
    base = rt.settings.baskets.public_url
    if base:
        return f"{base.rstrip('/')}/baskets/{codes.display(row.code)}"
    return codes.display(row.code)


def customer_baskets(rt: Runtime, golden_id: int) -> list[dict[str, Any]]:
    """Every basket of a customer (merged records included), with its journal."""
    with rt.sessions() as s:
        ids = people.members(s, golden_id)
        rows = s.scalars(
            select(BasketRow).where(BasketRow.golden_id.in_(ids)).order_by(BasketRow.id.desc())
        ).all()
        return [detail(s, row) for row in rows]


def abandoned_carts(rt: Runtime, golden_id: int, *, only_actionable: bool) -> list[dict[str, Any]]:
    window = timedelta(seconds=rt.settings.baskets.guard_window_seconds)
    with rt.sessions() as s:
        found = guard.abandoned_carts(s, golden_id, window, only_actionable=only_actionable)
        return [
            {
                **journal.summary(row),
                "actionable": ok,
                "last_activity_at": row.last_activity_at.isoformat(),
            }
            for row, ok in found
        ]


def detail(s: Any, row: BasketRow) -> dict[str, Any]:
    handoffs = s.scalars(select(BasketHandoffRow).where(BasketHandoffRow.basket_id == row.id)).all()
    entries = s.scalars(
        select(BasketJournalRow)
        .where(BasketJournalRow.basket_id == row.id)
        .order_by(BasketJournalRow.id)
    ).all()
    return {
        **journal.summary(row),
        "created_at": row.created_at.isoformat(),
        "last_activity_at": row.last_activity_at.isoformat(),
        "handoffs": [
            {
                "connection": h.connection,
                "status": h.status,
                "store": h.location,
                "id": h.external_id,
                "url": h.url,
                "error": h.error,
            }
            for h in handoffs
        ],
        "journal": [
            {
                "event": e.event,
                "status": e.status,
                "at": e.at.isoformat(),
                "detail": json.loads(e.detail),
            }
            for e in entries
        ],
    }
