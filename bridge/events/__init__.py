"""Business events, emitted in the transaction that caused them and delivered afterwards.

A use-case calls ``emit`` inside its transaction; the event row commits with the change it
describes (or not at all). It then asks for ``("brique.deliver_event", (event_id,))`` after
the commit; delivery fans the event out to the subscribers whose topics match and signs each
request (see ``bridge.events.delivery``). The sweeper re-sends what a lost message left.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bridge.events.tables import DeliveryAttemptRow, DeliveryRow, EventRow
from bridge.mapping.rules import jsonable
from bridge.store.upsert import insert_ignore

DELIVER = "brique.deliver_event"

__all__ = ["DELIVER", "DeliveryAttemptRow", "DeliveryRow", "EventRow", "emit"]


def emit(
    s: Session,
    topic: str,
    subject: str,
    payload: dict[str, Any],
    *,
    key: str,
    occurred_at: datetime | None = None,
) -> int | None:
    """Record an event once; returns its id when new, None when ``key`` was emitted before.

    ``payload`` may hold Decimals and datetimes (written as exact text). The caller
    dispatches ``(DELIVER, (id,))`` after its commit for a new event.
    """
    values: dict[str, Any] = {
        "event_key": key,
        "topic": topic,
        "subject": subject,
        "payload": json.dumps(jsonable(payload), sort_keys=True, separators=(",", ":")),
    }
    if occurred_at is not None:
        values["occurred_at"] = occurred_at
    return insert_ignore(s, EventRow, values, ("event_key",))
