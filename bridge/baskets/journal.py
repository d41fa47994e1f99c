"""The basket lifecycle journal: one append-only row per transition, each told to the
subscribers as a ``basket.<event>`` event.

Transitions are idempotent by their entry key (the ids that caused them), so a replayed
webhook, a second sweep or a re-applied ticket adds nothing. Terminal statuses stay
terminal: a converted or expired basket is never re-opened by a late update.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge import events
from bridge.baskets.tables import BasketJournalRow, BasketRow
from bridge.mapping.rules import jsonable
from bridge.store.upsert import insert_ignore

TERMINAL = frozenset({"converted", "expired"})
EVENTS = (
    "created",
    "updated",
    "wish_list",
    "quote",
    "abandoned",
    "reactivated",
    "transferred",
    "handoff_opened",
    "handoff_failed",
    "converted",
    "expired",
    "purchased_in_store",
)
"""Every journal event; ``status`` after each is the basket's."""

Followups = list[tuple[str, tuple[object, ...]]]


def summary(row: BasketRow) -> dict[str, Any]:
    """What subscribers and the API see of a basket (lines in canonical SKUs)."""
    from bridge.baskets.codes import display

    return {
        "code": display(row.code),
        "channel": row.channel,
        "status": row.status,
        "currency": row.currency,
        "lines": json.loads(row.lines),
        "customer": json.loads(row.customer) if row.customer else None,
        "golden_id": row.golden_id,
        "location": row.location,
        "url": row.url,
        "source": (
            {"connection": row.source_connection, "id": row.source_id}
            if row.source_connection
            else None
        ),
        "converted_ref": row.converted_ref,
        "bought_in_store_ref": row.bought_in_store_ref,
    }


def append(
    s: Session,
    row: BasketRow,
    event: str,
    *,
    key: str,
    status: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Followups:
    """Journal ``event`` for ``row`` once (by ``key``), move its status, emit the event.

    Returns the follow-ups to dispatch after the commit (the event's delivery), empty for
    a key journaled before or a terminal basket asked to change.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown basket event {event!r}")
    if row.status in TERMINAL and status is not None and status != row.status:
        return []
    new_status = status or row.status
    when = at or datetime.now(UTC)
    entry = insert_ignore(
        s,
        BasketJournalRow,
        {
            "entry_key": key,
            "basket_id": row.id,
            "event": event,
            "status": new_status,
            "golden_id": row.golden_id,
            "detail": json.dumps(jsonable(detail or {}), sort_keys=True),
            "at": when,
        },
        ("entry_key",),
    )
    if entry is None:
        return []
    row.status, row.updated_at = new_status, datetime.now(UTC)
    payload = {**summary(row), "event": event, "detail": detail or {}}
    event_id = events.emit(
        s, f"basket.{event}", f"basket/{row.code}", payload, key=f"basket:{key}", occurred_at=when
    )
    return [] if event_id is None else [(events.DELIVER, (event_id,))]
