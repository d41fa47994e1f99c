"""The ledger as the CLI and the HTTP API show it: one JSON shape for both.

A merged customer id shows the golden record it was merged into (compare ``golden_id``
with ``customer_id``), whose balance includes what the merged one earned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.loyalty.ledger import active_id, balance_e4, entries, members
from bridge.loyalty.tables import LoyaltyEntryRow, LoyaltyPublication, LoyaltyPublished
from bridge.sync.ledger import from_e4


def _points(value_e4: int | None) -> str:
    return format(from_e4(value_e4), "f")


def _stamp(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def entry_json(row: LoyaltyEntryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.entry_key,
        "kind": row.kind,
        "origin": row.origin,
        "points": _points(row.points_e4),
        "golden_id": row.golden_id,
        "record_id": row.record_id,
        "connection": row.connection,
        "ticket": row.ticket_key,
        "line": row.line_no,
        "channel": row.channel,
        "basis": row.basis,
        "currency": row.currency,
        "reason": row.reason,
        "occurred_at": _stamp(row.occurred_at),
        "recorded_at": _stamp(row.created_at),
    }


def show_json(s: Session, customer_id: int) -> dict[str, Any]:
    """Balance, totals per kind, and what each connection was sent."""
    golden_id = active_id(s, customer_id)
    rows = entries(s, golden_id)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.kind] = totals.get(row.kind, 0) + row.points_e4
    pubs = s.scalars(
        select(LoyaltyPublication)
        .where(LoyaltyPublication.golden_id == golden_id)
        .order_by(LoyaltyPublication.connection)
    ).all()
    accounts = s.scalars(
        select(LoyaltyPublished)
        .where(LoyaltyPublished.golden_id.in_(sorted(members(s, golden_id))))
        .order_by(LoyaltyPublished.connection, LoyaltyPublished.external_id)
    ).all()
    return {
        "customer_id": customer_id,
        "golden_id": golden_id,
        "balance": _points(balance_e4(s, golden_id)),
        "totals": {kind: _points(value) for kind, value in sorted(totals.items())},
        "entries": len(rows),
        "publications": [
            {
                "connection": p.connection,
                "pending": bool(p.dirty or p.claimed_by is not None),
                "published_at": _stamp(p.published_at),
            }
            for p in pubs
        ],
        "accounts": [
            {
                "connection": a.connection,
                "external_id": a.external_id,
                "balance": _points(a.balance_e4),
                "published_at": _stamp(a.published_at),
            }
            for a in accounts
        ],
    }


def history_json(s: Session, customer_id: int) -> dict[str, Any]:
    """Every entry of the customer's balance, oldest first, with the running balance."""
    golden_id = active_id(s, customer_id)
    running = 0
    out = []
    for row in entries(s, golden_id):
        running += row.points_e4
        out.append({**entry_json(row), "balance": _points(running)})
    return {"customer_id": customer_id, "golden_id": golden_id, "entries": out}
