"""What shops were told and whether it is stale: the pattern stock and prices share.

A publication row per (shop, item) carries ``dirty`` and a ``version`` that grows on every
change. A push claims dirty rows into an outbox row and frees them afterwards in one
UPDATE comparing ``version``, so a change committed while the push was in flight is never
lost: the row simply stays dirty. This is what coalesces ten sales into one write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from bridge.store.tables import PricePublication, StockPublication
from bridge.store.upsert import insert_ignore

Publication = type[StockPublication] | type[PricePublication]


def mark_stale(
    s: Session, table: Publication, key: dict[str, str], source_ref: str | None, now: datetime
) -> None:
    """Flag one publication stale, creating it if needed (one UPDATE, or an INSERT)."""
    bump = (
        update(table)
        .where(*(getattr(table, column) == value for column, value in key.items()))
        .values(
            dirty=True,
            version=table.version + 1,
            dirty_since=case((table.dirty.is_(True), table.dirty_since), else_=now),
            source_ref=source_ref,
        )
    )
    if s.execute(bump).rowcount:
        return
    created = insert_ignore(
        s,
        table,
        {**key, "dirty": True, "version": 1, "dirty_since": now, "source_ref": source_ref},
        tuple(key),
    )
    if created is None:
        s.execute(bump)  # another transaction created it meanwhile: bump theirs


def claim_stale(s: Session, table: Publication, connection: str, limit: int) -> list[Any]:
    """Lock up to ``limit`` stale, unclaimed rows of ``connection``, oldest change first."""
    return list(
        s.scalars(
            select(table)
            .where(
                table.connection == connection,
                table.dirty.is_(True),
                table.claimed_by.is_(None),
            )
            .order_by(table.dirty_since, table.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def unclaim(
    s: Session, table: Publication, outbox_id: int, item: dict[str, Any], **values: Any
) -> bool:
    """Free one item an outbox row holds; stale again if it changed while in flight.

    One UPDATE, so a change committing meanwhile cannot be lost: ``version`` is compared by
    the database at write time, not read earlier by us. False if the row was not ours.
    """
    values.setdefault("dirty", table.version != item["version"])
    freed = s.execute(
        update(table)
        .where(table.id == item["pub"], table.claimed_by == outbox_id)
        .values(claimed_by=None, **values)
    ).rowcount
    return bool(freed)
