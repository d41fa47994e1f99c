"""Delivering events to subscribers: signed POSTs, one delivery row per subscriber, one
attempt row per try, backoff, dead letters.

At-least-once: a subscriber may see an event twice (a crash after its 2xx, before our
commit) and must de-duplicate on ``Brique-Event-Id``, which never changes between tries.
A delivery is claimed by moving its ``next_attempt_at`` past a lease in one UPDATE, so two
workers never post it at the same time, and a worker that dies mid-request only delays it
until the lease ends (the sweeper then finds it).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.events import DELIVER
from bridge.events.tables import DeliveryAttemptRow, DeliveryRow, EventRow
from bridge.settings import SubscriberSettings
from bridge.store.tables import DeadLetter
from bridge.store.upsert import insert_ignore
from bridge.sync import deadletters
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=120)
"""How long a claimed delivery is reserved for the worker posting it."""
BACKOFF_BASE = 10.0
BACKOFF_MAX = 3600.0
SIGNATURE_HEADER = "Brique-Signature"


def matches(topic: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(topic, pattern) for pattern in patterns)


def sign(secret: str, body: bytes, at: int) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: the timestamp is signed, so a
    captured request cannot be replayed later with a fresh one."""
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: int, tolerance: int = 300) -> bool:
    """What a subscriber does with ``Brique-Signature`` (documented, and used in tests)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        at = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - at) > tolerance:
        return False
    expected = sign(secret, body, at).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempts: int) -> float:
    """10 s, 20 s, 40 s ... up to an hour between tries."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(attempts - 1, 0))


def body_of(event: EventRow) -> bytes:
    document = {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "occurred_at": _aware(event.occurred_at).isoformat(),
        "data": json.loads(event.payload),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def fan_out(s: Session, event: EventRow, subscribers: Mapping[str, SubscriberSettings]) -> None:
    """One delivery row per enabled subscriber whose topics match (idempotent)."""
    for name, sub in sorted(subscribers.items()):
        if sub.enabled and matches(event.topic, sub.topics):
            insert_ignore(
                s,
                DeliveryRow,
                {"event_id": event.id, "subscriber": name, "next_attempt_at": datetime.now(UTC)},
                ("event_id", "subscriber"),
            )


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt_id: int
    attempt_no: int
    subscriber: str
    body: bytes
    topic: str


def deliver(rt: Runtime, event_id: int) -> dict[str, str]:
    """Fan the event out, then try every delivery of it that is due. Returns
    ``{subscriber: outcome}`` for the tries made now (empty when nothing was due)."""
    subscribers = rt.settings.subscribers
    with rt.transaction() as s:
        event = s.get(EventRow, event_id)
        if event is None:
            return {}
        fan_out(s, event, subscribers)
    outcomes: dict[str, str] = {}
    retry_in: list[float] = []
    for delivery_id in _due(rt, event_id):
        claimed = _claim(rt, delivery_id)
        if claimed is None:
            continue
        sub = subscribers.get(claimed.subscriber)
        outcome, wait = _attempt(rt, claimed, sub)
        outcomes[claimed.subscriber] = outcome
        if wait is not None:
            retry_in.append(wait)
    if retry_in:
        rt.dispatcher.call(DELIVER, event_id, delay=min(retry_in))
    return outcomes


def _due(rt: Runtime, event_id: int) -> list[int]:
    now = datetime.now(UTC)
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(DeliveryRow.id).where(
                    DeliveryRow.event_id == event_id,
                    DeliveryRow.status == "pending",
                    DeliveryRow.next_attempt_at <= now,
                )
            )
        )


def _claim(rt: Runtime, delivery_id: int) -> Claimed | None:
    now = datetime.now(UTC)
    with rt.transaction() as s:
        won = s.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.status == "pending",
                DeliveryRow.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + LEASE, attempts=DeliveryRow.attempts + 1)
        ).rowcount
        if not won:
            return None
        row = s.get(DeliveryRow, delivery_id)
        event = s.get(EventRow, row.event_id)
        attempt = DeliveryAttemptRow(delivery_id=delivery_id)
        s.add(attempt)
        s.flush()
        return Claimed(
            delivery_id, attempt.id, row.attempts, row.subscriber, body_of(event), event.topic
        )


def _attempt(
    rt: Runtime, claimed: Claimed, sub: SubscriberSettings | None
) -> tuple[str, float | None]:
    """POST once; record the attempt and what happens next. Returns (outcome, retry delay)."""
    if sub is None or not sub.enabled:
        detail = f"subscriber {claimed.subscriber!r} is no longer configured (or disabled)"
        _finish(rt, claimed, "dead", None, detail, sub)
        return "dead", None
    at = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Brique-Events/1",
        "Brique-Event-Id": str(json.loads(claimed.body)["id"]),
        "Brique-Delivery-Id": str(claimed.delivery_id),
        "Brique-Topic": claimed.topic,
        SIGNATURE_HEADER: sign(sub.secret.get_secret_value(), claimed.body, at),
    }
    code: int | None = None
    try:
        response = requests.post(
            sub.url,
            data=claimed.body,
            headers=headers,
            timeout=sub.timeout_seconds,
            allow_redirects=False,
        )
        code = response.status_code
        detail = f"HTTP {code}"
        if 200 <= code < 300:
            _finish(rt, claimed, "delivered", code, detail, sub)
            return "delivered", None
        if code == 410:  # the subscriber says this endpoint is gone: stop trying
            _finish(rt, claimed, "dead", code, f"{detail}: endpoint gone", sub)
            return "dead", None
        detail = f"{detail}: {response.text[:200]}"
    except requests.RequestException as exc:
        detail = f"{type(exc).__name__}: {_first_line(exc)}"
    if claimed.attempt_no >= sub.max_attempts:
        _finish(rt, claimed, "dead", code, f"{detail} (attempt {claimed.attempt_no})", sub)
        return "dead", None
    wait = backoff(claimed.attempt_no)
    _finish(rt, claimed, "retry", code, detail, sub, retry_in=wait)
    return "retry", wait


def _finish(
    rt: Runtime,
    claimed: Claimed,
    outcome: str,
    code: int | None,
    detail: str,
    sub: SubscriberSettings | None,
    retry_in: float | None = None,
) -> None:
    now = datetime.now(UTC)
    with rt.transaction() as s:
        attempt = s.get(DeliveryAttemptRow, claimed.attempt_id)
        attempt.finished_at, attempt.outcome = now, outcome
        attempt.status_code, attempt.detail = code, detail
        row = s.get(DeliveryRow, claimed.delivery_id)
        if outcome == "delivered":
            row.status, row.delivered_at, row.last_error = "delivered", now, None
            row.next_attempt_at = None
        elif outcome == "dead":
            row.status, row.last_error, row.next_attempt_at = "dead", detail, None
            deadletters.record(
                s,
                connection=claimed.subscriber,
                stage="event",
                error=f"event {claimed.topic} not delivered to {claimed.subscriber}: {detail}",
                ref_id=row.id,
                record=f"event/{row.event_id}",
                payload=claimed.body.decode(),
            )
        else:
            row.last_error = detail
            row.next_attempt_at = now + timedelta(seconds=retry_in or BACKOFF_BASE)
    log_fn = log.info if outcome == "delivered" else log.warning
    log_fn(
        "event_delivery",
        subscriber=claimed.subscriber,
        topic=claimed.topic,
        delivery=claimed.delivery_id,
        attempt=claimed.attempt_no,
        outcome=outcome,
        detail=detail,
    )


def due_events(rt: Runtime, limit: int = 500) -> list[int]:
    """Events with a delivery due (a lost message, an expired lease, a retry time reached),
    for the sweeper; events not fanned out yet are found by ``undelivered``."""
    now = datetime.now(UTC)
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(DeliveryRow.event_id)
                .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
                .distinct()
                .limit(limit)
            )
        )


def undelivered(rt: Runtime, older_than: timedelta, limit: int = 500) -> list[int]:
    """Events with no delivery row yet although a subscriber wants them (the message asking
    for their delivery was lost), created before ``older_than`` ago."""
    subscribers = {n: s for n, s in rt.settings.subscribers.items() if s.enabled}
    if not subscribers:
        return []
    cutoff = datetime.now(UTC) - older_than
    with rt.sessions() as s:
        fanned = select(DeliveryRow.event_id)
        rows = s.execute(
            select(EventRow.id, EventRow.topic)
            .where(EventRow.created_at < cutoff, EventRow.id.not_in(fanned))
            .order_by(EventRow.id.desc())
            .limit(limit)
        ).all()
    patterns = [p for sub in subscribers.values() for p in sub.topics]
    return [event_id for event_id, topic in rows if matches(topic, patterns)]


def sweep(rt: Runtime) -> int:
    """Ask delivery of events whose retry time came, or whose message or worker was lost
    (not fanned out ``stale_seconds`` after they were recorded)."""
    stale = timedelta(seconds=rt.settings.stale_seconds)
    ids = sorted(set(due_events(rt)) | set(undelivered(rt, stale)))
    for event_id in ids:
        rt.dispatcher.call(DELIVER, event_id)
    return len(ids)


def redeliver(rt: Runtime, delivery_id: int) -> str:
    """Send a dead (or delivered) delivery again, as a new round of attempts."""
    with rt.transaction() as s:
        row = s.get(DeliveryRow, delivery_id)
        if row is None:
            from bridge.errors import ConfigError

            raise ConfigError(f"no delivery #{delivery_id}")
        row.status, row.attempts, row.next_attempt_at = "pending", 0, datetime.now(UTC)
        event_id = row.event_id
    rt.dispatcher.call(DELIVER, event_id)
    return f"delivery {delivery_id} of event {event_id} queued again"


def replay_dead_letter(s: Session, dl: DeadLetter) -> tuple[str, tuple[str, tuple[Any, ...]]]:
    """``brique deadletters replay`` for a dead delivery: a new round of attempts."""
    from bridge.errors import ConfigError

    row = s.get(DeliveryRow, dl.ref_id) if dl.ref_id is not None else None
    if row is None:
        raise ConfigError(f"dead letter #{dl.id} points at a missing delivery {dl.ref_id}")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, datetime.now(UTC)
    return (
        f"event {row.event_id} will be delivered to {row.subscriber} again",
        (DELIVER, (row.event_id,)),
    )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]
