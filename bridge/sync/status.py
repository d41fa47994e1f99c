"""Counts per connection for ``brique status`` and ``/health``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bridge.store.tables import (
    ConnectionState,
    DeadLetter,
    InboxRow,
    OutboxRow,
    PricePublication,
    StockPublication,
)
from bridge.sync.gaps import ticket_gaps
from bridge.sync.runtime import Runtime


def connection_status(rt: Runtime) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        name: {
            "connector": conn.connector,
            "enabled": conn.enabled,
            "state": "ok",
            "reason": None,
            "inbox": {},
            "outbox": {},
            "dead_letters": 0,
            "stale_stock": 0,
            "ticket_gaps": [],
        }
        for name, conn in rt.settings.connections.items()
    }
    with rt.sessions() as s:
        for name, status, count in s.execute(
            select(InboxRow.connection, InboxRow.status, func.count()).group_by(
                InboxRow.connection, InboxRow.status
            )
        ):
            out.setdefault(name, {"inbox": {}, "outbox": {}})["inbox"][status] = count
        for name, status, count in s.execute(
            select(OutboxRow.connection, OutboxRow.status, func.count()).group_by(
                OutboxRow.connection, OutboxRow.status
            )
        ):
            out.setdefault(name, {"inbox": {}, "outbox": {}})["outbox"][status] = count
        for name, count in s.execute(
            select(DeadLetter.connection, func.count())
            .where(DeadLetter.status == "open")
            .group_by(DeadLetter.connection)
        ):
            out.setdefault(name, {"inbox": {}, "outbox": {}})["dead_letters"] = count
        for name, count in s.execute(
            select(StockPublication.connection, func.count())
            .where(StockPublication.dirty.is_(True))
            .group_by(StockPublication.connection)
        ):
            out.setdefault(name, {"inbox": {}, "outbox": {}})["stale_stock"] = count
        for name, count in s.execute(
            select(PricePublication.connection, func.count())
            .where(PricePublication.dirty.is_(True))
            .group_by(PricePublication.connection)
        ):
            out.setdefault(name, {"inbox": {}, "outbox": {}})["stale_prices"] = count
        for gap in ticket_gaps(s):
            out.setdefault(gap.connection, {"inbox": {}, "outbox": {}}).setdefault(
                "ticket_gaps", []
            ).append(gap.describe())
        for state in s.scalars(select(ConnectionState)):
            if state.name in out:
                out[state.name]["state"], out[state.name]["reason"] = state.status, state.reason
    return out


def mapping_status(rt: Runtime) -> dict[str, Any]:
    """The mapping file as it is now, and the versions the workers last applied.

    Workers keep the last good mapping when the file breaks; the versions recorded on the
    latest inbox and outbox rows show which one they are really running.
    """
    report: dict[str, Any] = dict(rt.mapping.state())
    with rt.sessions() as s:
        applied = []
        for table, stamp in ((InboxRow, InboxRow.processed_at), (OutboxRow, OutboxRow.created_at)):
            row = s.execute(
                select(table.mapping_version, stamp)
                .where(table.mapping_version.is_not(None), stamp.is_not(None))
                .order_by(stamp.desc())
                .limit(1)
            ).first()
            if row is not None:
                applied.append((row[1], row[0]))
    report["last_applied"] = max(applied)[1] if applied else None
    return report
