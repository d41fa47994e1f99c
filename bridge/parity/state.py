"""Divergences as state: opened once, kept while they last, resolved once.

Each comparison reconciles its findings with the rows of the SKUs it judged: a new finding
opens a row (or reopens a resolved one, with the next occurrence) and emits
``price.divergence``; an open row no longer found is resolved and emits
``price.parity_restored``. Event keys are (row, occurrence), so a replayed or concurrent
comparison emits nothing twice; a re-scan that finds the same thing only moves
``last_seen``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bridge.events import emit
from bridge.parity.evaluate import Finding, SkuParity, text
from bridge.parity.snapshot import among
from bridge.parity.tables import PriceDivergence
from bridge.store.tables import PriceRow
from bridge.store.upsert import insert_ignore

log = structlog.get_logger(__name__)

OPENED = "price.divergence"
RESTORED = "price.parity_restored"


def record(
    s: Session, results: Sequence[SkuParity], currency: str, now: datetime
) -> tuple[list[int], int, int]:
    """Reconcile the divergence rows of these SKUs with their findings.

    Returns (new event ids, divergences opened, divergences resolved).
    """
    skus = [r.sku for r in results]
    rows: dict[str, dict[tuple[str, str], PriceDivergence]] = {}
    if skus:
        query = select(PriceDivergence).where(among(s, PriceDivergence.sku, skus))
        for row in s.scalars(query.with_for_update()):
            rows.setdefault(row.sku, {})[(row.rule, row.member)] = row
    events: list[int] = []
    opened = resolved = 0
    for result in results:
        if not result.judged:
            continue  # an error stopped the comparison: nothing about it is known
        mine = rows.get(result.sku, {})
        found = set()
        for finding in result.findings:
            found.add(finding.key)
            if _found(s, result.sku, finding, mine.get(finding.key), currency, now, events):
                opened += 1
        for key, row in mine.items():
            if row.status == "open" and key not in found and key not in result.unsure:
                resolve(s, row, now, events, _current(result, row.member))
                resolved += 1
    return events, opened, resolved


def resolve_orphans(s: Session, now: datetime, limit: int = 1000) -> tuple[list[int], int]:
    """Resolve open divergences of SKUs that have no price left at all."""
    orphans = s.scalars(
        select(PriceDivergence)
        .where(
            PriceDivergence.status == "open",
            ~exists().where(PriceRow.sku == PriceDivergence.sku),
        )
        .limit(limit)
        .with_for_update()
    ).all()
    events: list[int] = []
    for row in orphans:
        resolve(s, row, now, events, {"note": "the SKU has no price any more"})
    return events, len(orphans)


def _found(
    s: Session,
    sku: str,
    finding: Finding,
    row: PriceDivergence | None,
    currency: str,
    now: datetime,
    events: list[int],
) -> bool:
    """Open, reopen or refresh the row of one finding; True when it (re)opened."""
    values = {
        "observed": text(finding.observed),
        "expected": text(finding.expected),
        "currency": currency,
        "prices": json.dumps(finding.prices, sort_keys=True),
        "message": finding.message,
        "last_seen": now,
    }
    if row is None:
        row_id = insert_ignore(
            s,
            PriceDivergence,
            {
                "sku": sku, "rule": finding.rule, "member": finding.member, "status": "open",
                "occurrence": 1, "first_seen": now, **values,
            },
            ("sku", "rule", "member"),
        )  # fmt: skip
        row = s.scalar(
            select(PriceDivergence)
            .where(
                PriceDivergence.sku == sku,
                PriceDivergence.rule == finding.rule,
                PriceDivergence.member == finding.member,
            )
            .with_for_update()
        )
        assert row is not None
        if row_id is not None:
            _announce_open(s, row, events)
            return True
    for name, value in values.items():
        setattr(row, name, value)
    if row.status == "open":
        return False
    row.status, row.occurrence = "open", row.occurrence + 1
    row.first_seen, row.resolved_at = now, None
    s.flush()
    _announce_open(s, row, events)
    return True


def _announce_open(s: Session, row: PriceDivergence, events: list[int]) -> None:
    payload = event_payload(row)
    event_id = emit(
        s, OPENED, f"sku/{row.sku}", payload, key=f"{OPENED}/{row.id}/{row.occurrence}",
        occurred_at=row.first_seen,
    )  # fmt: skip
    if event_id is not None:
        events.append(event_id)
        log.warning(
            "price_divergence", sku=row.sku, rule=row.rule, member=row.member,
            observed=row.observed, expected=row.expected, message=row.message,
        )  # fmt: skip


def resolve(
    s: Session, row: PriceDivergence, now: datetime, events: list[int], current: dict[str, Any]
) -> None:
    row.status, row.resolved_at, row.last_seen = "resolved", now, now
    payload = {**event_payload(row), "now": current}
    event_id = emit(
        s, RESTORED, f"sku/{row.sku}", payload, key=f"{RESTORED}/{row.id}/{row.occurrence}",
        occurred_at=now,
    )  # fmt: skip
    if event_id is not None:
        events.append(event_id)
        log.info("price_parity_restored", sku=row.sku, rule=row.rule, member=row.member)


def event_payload(row: PriceDivergence) -> dict[str, Any]:
    """What subscribers receive: the divergence, its prices and their sources."""
    return {
        "divergence_id": row.id,
        "occurrence": row.occurrence,
        "sku": row.sku,
        "rule": row.rule,
        "member": row.member,
        "observed": row.observed,
        "expected": row.expected,
        "currency": row.currency,
        "basis": "tax included",
        "prices": json.loads(row.prices),
        "message": row.message,
        "first_seen": row.first_seen,
        "resolved_at": row.resolved_at,
    }


def _current(result: SkuParity, member: str) -> dict[str, Any]:
    quote = result.quotes.get(member)
    return {"price": None if quote is None else text(quote.price)}
