"""What tills really charge: the latest unit price per (store, SKU), read from the journal.

The sales journal is read forward from a cursor (its row id), a batch per transaction, so
the cost grows with the new sales, never with the journal's size; replaying a batch changes
nothing (the latest ring wins, by the ticket's time). Only completed store tickets count,
and only sold lines (no returns, no voided lines, a unit price present).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.parity.evaluate import utc
from bridge.parity.tables import ParityState, TillPrice
from bridge.store.tables import SaleRow
from bridge.store.upsert import insert_ignore
from bridge.sync.runtime import Runtime

STATE = "prices"
BATCH = 500
COMMIT_MARGIN = timedelta(seconds=60)
"""On PostgreSQL, ids are taken at insert and rows appear at commit, so a row may become
visible behind the cursor: sales recorded less than this long ago wait for the next read
(a transaction open longer than this is the only way to miss one)."""

Key = tuple[str, str]


def lock_state(s: Session) -> ParityState:
    """The watchdog's state row, locked for this transaction (created on first use)."""
    state = s.get(ParityState, STATE, with_for_update=True)
    if state is None:
        insert_ignore(s, ParityState, {"name": STATE}, ("name",))
        state = s.get(ParityState, STATE, with_for_update=True, populate_existing=True)
    assert state is not None
    return state


def catch_up(rt: Runtime, within: timedelta, batch: int = BATCH) -> int:
    """Read the journal rows recorded since the last call; returns how many were read."""
    read = 0
    while True:
        with rt.transaction() as s:
            state = lock_state(s)
            now = datetime.now(UTC)
            cursor = state.sales_cursor
            if cursor is None:
                cursor = _start(s, now - within)
            rows = s.execute(
                select(
                    SaleRow.id, SaleRow.connection, SaleRow.ticket_key, SaleRow.location,
                    SaleRow.occurred_at, SaleRow.recorded_at, SaleRow.payload,
                )
                .where(SaleRow.id > cursor)
                .where(SaleRow.location.is_not(None), SaleRow.status == "completed")
                .order_by(SaleRow.id)
                .limit(batch)
            ).all()  # fmt: skip
            margin = COMMIT_MARGIN if s.get_bind().dialect.name == "postgresql" else timedelta(0)
            latest: dict[Key, dict[str, Any]] = {}
            done = 0
            for row in rows:
                if margin and utc(row.recorded_at) > now - margin:
                    break  # too recent to be sure nothing before it is still uncommitted
                _rings(row, latest)
                cursor, done = row.id, done + 1
            _store(s, latest)
            state.sales_cursor = cursor
        read += done
        if done < batch:
            return read


def _start(s: Session, since: datetime) -> int:
    """Where a first read starts: the journal's rows older than the window are not judged."""
    first = s.scalar(select(func.min(SaleRow.id)).where(SaleRow.recorded_at >= since))
    if first is not None:
        return first - 1
    return s.scalar(select(func.max(SaleRow.id))) or 0


def _rings(row: Any, latest: dict[Key, dict[str, Any]]) -> None:
    try:
        sale = json.loads(row.payload)
    except ValueError:
        return
    rung_at = utc(row.occurred_at or row.recorded_at)
    for line in sale.get("lines") or ():
        unit = line.get("unit_price")
        if not isinstance(unit, dict) or line.get("voided") or line.get("is_return"):
            continue
        try:
            amount = Decimal(str(unit["amount"]))
            quantity = Decimal(str(line.get("quantity", "0")))
        except (KeyError, InvalidOperation):
            continue
        if quantity <= 0 or not amount.is_finite():
            continue
        key = (row.location, str(line.get("sku")))
        known = latest.get(key)
        if known is None or rung_at >= known["rung_at"]:
            latest[key] = {
                "location": row.location,
                "sku": key[1],
                "amount": format(amount, "f"),
                "currency": str(unit.get("currency") or sale.get("currency") or ""),
                "connection": row.connection,
                "ticket_key": row.ticket_key,
                "sale_id": row.id,
                "rung_at": rung_at,
            }


def _store(s: Session, latest: dict[Key, dict[str, Any]]) -> None:
    """Keep the newest ring per (store, SKU): one read and one write per key and batch."""
    if not latest:
        return
    skus = sorted({sku for _, sku in latest})
    existing = {
        (row.location, row.sku): row
        for row in s.scalars(select(TillPrice).where(TillPrice.sku.in_(skus)))
        if (row.location, row.sku) in latest
    }
    for key, values in latest.items():
        row = existing.get(key)
        if row is None:
            if insert_ignore(s, TillPrice, values, ("location", "sku")) is not None:
                continue
            row = s.scalar(
                select(TillPrice).where(TillPrice.location == key[0], TillPrice.sku == key[1])
            )
            if row is None:
                continue
        if values["rung_at"] >= utc(row.rung_at):
            for name, value in values.items():
                setattr(row, name, value)
