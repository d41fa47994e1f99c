"""Events and their deliveries as the API and the CLI show them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.events.tables import DeliveryAttemptRow, DeliveryRow, EventRow


def _stamp(at: Any) -> str | None:
    return None if at is None else at.isoformat()


def listing(
    s: Session,
    *,
    topic: str | None = None,
    subject: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Events oldest first after id ``after`` (page with the last id seen); ``topic``
    may end with ``*`` (``basket.*``)."""
    query = select(EventRow).where(EventRow.id > after).order_by(EventRow.id).limit(limit)
    if topic:
        if topic.endswith("*"):
            query = query.where(EventRow.topic.startswith(topic[:-1]))
        else:
            query = query.where(EventRow.topic == topic)
    if subject:
        query = query.where(EventRow.subject == subject)
    events = s.scalars(query).all()
    ids = [e.id for e in events]
    deliveries: dict[int, list[DeliveryRow]] = {}
    if ids:
        for d in s.scalars(select(DeliveryRow).where(DeliveryRow.event_id.in_(ids))):
            deliveries.setdefault(d.event_id, []).append(d)
    return [event_json(e, deliveries.get(e.id, [])) for e in events]


def event_json(
    e: EventRow, deliveries: list[DeliveryRow], attempts: dict[int, list[Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": e.id,
        "topic": e.topic,
        "subject": e.subject,
        "occurred_at": _stamp(e.occurred_at),
        "data": json.loads(e.payload),
        "deliveries": [
            {
                "id": d.id,
                "subscriber": d.subscriber,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": _stamp(d.next_attempt_at),
                "delivered_at": _stamp(d.delivered_at),
                "last_error": d.last_error,
                **({"tries": attempts.get(d.id, [])} if attempts is not None else {}),
            }
            for d in sorted(deliveries, key=lambda d: d.subscriber)
        ],
    }


def one(s: Session, event_id: int) -> dict[str, Any] | None:
    """One event with every delivery and every attempt of each."""
    event = s.get(EventRow, event_id)
    if event is None:
        return None
    deliveries = list(s.scalars(select(DeliveryRow).where(DeliveryRow.event_id == event_id)))
    attempts: dict[int, list[Any]] = {}
    if deliveries:
        rows = s.scalars(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.delivery_id.in_([d.id for d in deliveries]))
            .order_by(DeliveryAttemptRow.id)
        )
        for a in rows:
            attempts.setdefault(a.delivery_id, []).append(
                {
                    "started_at": _stamp(a.started_at),
                    "finished_at": _stamp(a.finished_at),
                    "outcome": a.outcome,
                    "status_code": a.status_code,
                    "detail": a.detail,
                }
            )
    return event_json(event, deliveries, attempts)


def subscriber_status(s: Session, names: list[str]) -> dict[str, dict[str, int]]:
    """Deliveries per subscriber and status (pending, delivered, dead): what ``brique
    status`` and ``/health`` show. Configured subscribers appear even with none."""
    from sqlalchemy import func

    report: dict[str, dict[str, int]] = {name: {} for name in names}
    for name, status, count in s.execute(
        select(DeliveryRow.subscriber, DeliveryRow.status, func.count()).group_by(
            DeliveryRow.subscriber, DeliveryRow.status
        )
    ):
        report.setdefault(name, {})[status] = count
    return report
