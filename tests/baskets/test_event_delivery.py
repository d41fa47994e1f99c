"""Signed outbound webhooks: one delivery row per subscriber, one attempt row per try,
backoff, dead letters that replay, at-least-once with a stable event id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
import responses
from sqlalchemy import select, update

from bridge import events
from bridge.events import DeliveryAttemptRow, DeliveryRow
from bridge.events import delivery as deliveries
from bridge.settings import SubscriberSettings
from bridge.store.tables import DeadLetter
from bridge.sync import deadletters, sweep
from tests.baskets.conftest import HOOK_URL

OTHER = "https://datamart.test/in"


def emit(rt, key: str = "k1", topic: str = "basket.abandoned") -> int | None:
    with rt.transaction() as s:
        return events.emit(
            s,
            topic,
            "basket/ABCD-EFGH",
            {"total": Decimal("12.50"), "at": datetime(2026, 1, 2)},
            key=key,
        )


def with_subscribers(rt, **extra: SubscriberSettings) -> None:
    rt.settings.subscribers.update(extra)


def attempts(rt) -> list[tuple[str, int | None, str]]:
    with rt.sessions() as s:
        rows = s.execute(
            select(
                DeliveryRow.subscriber, DeliveryAttemptRow.status_code, DeliveryAttemptRow.outcome
            )
            .join(DeliveryRow, DeliveryRow.id == DeliveryAttemptRow.delivery_id)
            .order_by(DeliveryAttemptRow.id)
        ).all()
    return [tuple(r) for r in rows]


def make_due(rt) -> None:
    with rt.transaction() as s:
        s.execute(update(DeliveryRow).values(next_attempt_at=datetime.now(UTC) - timedelta(1)))


def test_emit_is_idempotent_and_payload_exact(world) -> None:
    rt = world[0]
    first = emit(rt)
    assert first is not None and emit(rt) is None  # the same key: nothing twice
    with rt.sessions() as s:
        row = s.get(events.EventRow, first)
        assert json.loads(row.payload) == {"at": "2026-01-02T00:00:00", "total": "12.50"}


@responses.activate
def test_delivery_is_signed_and_filtered_by_topic(world) -> None:
    rt = world[0]
    with_subscribers(
        rt,
        datamart=SubscriberSettings(url=OTHER, secret="dm-secret", topics=["price.*"]),
    )
    responses.add(responses.POST, HOOK_URL, status=204)
    event_id = emit(rt)
    assert deliveries.deliver(rt, event_id) == {"marketing": "delivered"}
    (call,) = responses.calls
    body = call.request.body
    headers = call.request.headers
    assert headers["Brique-Event-Id"] == str(event_id)
    assert headers["Brique-Topic"] == "basket.abandoned"
    at = int(headers["Brique-Signature"].split(",")[0][2:])
    assert deliveries.verify("s3cret-marketing", body, headers["Brique-Signature"], now=at)
    assert not deliveries.verify("wrong", body, headers["Brique-Signature"], now=at)
    assert not deliveries.verify(  # replayed ten minutes later
        "s3cret-marketing", body, headers["Brique-Signature"], now=at + 600
    )
    document = json.loads(body)
    assert document["id"] == event_id and document["data"]["total"] == "12.50"
    assert deliveries.deliver(rt, event_id) == {}  # delivered: nothing more
    assert attempts(rt) == [("marketing", 204, "delivered")]


@responses.activate
def test_failures_retry_with_backoff_then_dead_letter_and_replay(world) -> None:
    rt, _, _, dispatcher = world
    rt.settings.subscribers["marketing"] = SubscriberSettings(
        url=HOOK_URL, secret="s3cret-marketing", topics=["*"], max_attempts=3
    )
    responses.add(responses.POST, HOOK_URL, status=503, body="busy")
    responses.add(responses.POST, HOOK_URL, body=requests.ConnectionError("refused"))
    responses.add(responses.POST, HOOK_URL, status=500)
    event_id = emit(rt)
    assert deliveries.deliver(rt, event_id) == {"marketing": "retry"}
    with rt.sessions() as s:
        row = s.scalar(select(DeliveryRow))
        wait = row.next_attempt_at.replace(tzinfo=UTC) - datetime.now(UTC)
        assert timedelta(seconds=5) < wait <= timedelta(seconds=10)
        assert row.last_error == "HTTP 503: busy"
    assert deliveries.deliver(rt, event_id) == {}  # not due yet
    make_due(rt)
    assert deliveries.deliver(rt, event_id) == {"marketing": "retry"}
    make_due(rt)
    assert deliveries.deliver(rt, event_id) == {"marketing": "dead"}
    assert [a[1:] for a in attempts(rt)] == [(503, "retry"), (None, "retry"), (500, "dead")]
    with rt.sessions() as s:
        dead = s.scalar(select(DeadLetter).where(DeadLetter.stage == "event"))
        assert dead.connection == "marketing" and dead.record == f"event/{event_id}"
        assert "HTTP 500" in dead.error

    responses.replace(responses.POST, HOOK_URL, status=200)
    dispatcher.paused = True
    deadletters.replay(rt, dead.id)
    dispatcher.paused = False
    dispatcher.drain()
    with rt.sessions() as s:
        row = s.scalar(select(DeliveryRow))
        assert row.status == "delivered" and row.attempts == 1


@responses.activate
def test_gone_endpoint_stops_and_unknown_subscriber_is_dead(world) -> None:
    rt = world[0]
    responses.add(responses.POST, HOOK_URL, status=410)
    event_id = emit(rt)
    assert deliveries.deliver(rt, event_id) == {"marketing": "dead"}
    second = emit(rt, key="k2")
    with rt.transaction() as s:
        deliveries.fan_out(s, s.get(events.EventRow, second), rt.settings.subscribers)
    del rt.settings.subscribers["marketing"]
    assert deliveries.deliver(rt, second) == {"marketing": "dead"}


@responses.activate
def test_a_claimed_delivery_is_not_posted_twice_and_the_sweeper_finds_lost_ones(world) -> None:
    rt, _, _, dispatcher = world
    responses.add(responses.POST, HOOK_URL, status=200)
    dispatcher.paused = True  # messages asking for delivery are "lost"
    event_id = emit(rt)
    with rt.transaction() as s:
        deliveries.fan_out(s, s.get(events.EventRow, event_id), rt.settings.subscribers)
        delivery_id = s.scalar(select(DeliveryRow.id))
    claimed = deliveries._claim(rt, delivery_id)
    assert claimed is not None
    assert deliveries._claim(rt, delivery_id) is None  # a second worker gets nothing
    assert deliveries.deliver(rt, event_id) == {}  # leased: not due
    orphan = emit(rt, key="k-orphan")  # no delivery row at all
    with rt.transaction() as s:
        s.execute(update(events.EventRow).values(created_at=datetime.now(UTC) - timedelta(1)))
    make_due(rt)  # the lease ran out (the worker died)
    dispatcher.queue.clear()
    result = sweep.sweep(rt)
    assert result.events == 2
    dispatcher.paused = False
    dispatcher.drain()
    assert len(responses.calls) == 2
    assert {json.loads(c.request.body)["id"] for c in responses.calls} == {event_id, orphan}


def test_subscriber_urls_are_checked() -> None:
    with pytest.raises(ValueError, match="https://"):
        SubscriberSettings(url="ftp://x", secret="s")


@responses.activate
def test_undelivered_events_show_in_health(world) -> None:
    from fastapi.testclient import TestClient

    from workers.web import create_app

    rt = world[0]
    responses.add(responses.POST, HOOK_URL, status=410)
    with TestClient(create_app(rt)) as client:
        assert client.get("/health").json()["subscribers"] == {"marketing": {}}
        deliveries.deliver(rt, emit(rt))
        report = client.get("/health").json()
    assert report["subscribers"] == {"marketing": {"dead": 1}}
    assert "subscriber marketing: 1 event(s) not delivered" in report["alerts"]
    assert report["status"] == "degraded"
