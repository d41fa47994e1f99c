"""The webhook receiver: signed deliveries in (once), forgeries and floods out, health."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bridge.settings import ConnectionSettings, Settings, WebSettings
from bridge.store import db
from bridge.store.tables import DeadLetter, InboxRow
from bridge.sync.runtime import NullDispatcher, Runtime
from connectors.poslog.samples import Line, document, ticket, transaction
from tests.test_sync import MAPPING
from workers.web import create_app

WEBHOOK_SECRET = "hook-secret-for-tests"
HTTP_TOKEN = "till-token-for-tests"
LIMIT = 64 * 1024
WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"

# A Shopify ``orders/create`` delivery in the REST shape Shopify sends (written for tests).
ORDER: dict[str, Any] = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#1001",
    "email": "jon@example.com",
    "created_at": "2026-11-23T16:15:47-05:00",
    "updated_at": "2026-11-23T16:15:48-05:00",
    "currency": "EUR",
    "presentment_currency": "EUR",
    "financial_status": "paid",
    "fulfillment_status": None,
    "subtotal_price": "398.00",
    "total_tax": "66.33",
    "total_price": "403.00",
    "test": False,
    "cancelled_at": None,
    "line_items": [
        {
            "id": 866550311766439020,
            "variant_id": 808950810,
            "product_id": 632910392,
            "title": "T-shirt",
            "name": "T-shirt - Red / M",
            "sku": "TSHIRT-RED-M",
            "quantity": 2,
            "price": "99.00",
            "total_discount": "0.00",
            "taxable": True,
        },
        {
            "id": 141249953214522974,
            "variant_id": 49148385,
            "product_id": 632910393,
            "title": "Jeans",
            "name": "Jeans - Blue / 32",
            "sku": "JEANS-BLUE-32",
            "quantity": 1,
            "price": "200.00",
            "total_discount": "5.00",
            "taxable": True,
        },
    ],
    "shipping_lines": [{"title": "Standard", "price": "5.00"}],
    "customer": {
        "id": 115310627314723954,
        "email": "john@example.com",
        "first_name": "John",
        "last_name": "Smith",
    },
}


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(body: bytes, **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Shop-Domain": "brique-test.myshopify.com",
        "X-Shopify-API-Version": "2026-01",
        "X-Shopify-Webhook-Id": WEBHOOK_ID,
        "X-Shopify-Triggered-At": "2026-11-23T21:15:48.123456789Z",
    }
    headers.update(extra)
    return headers


class World:
    def __init__(self, rt: Runtime, client: TestClient, broker: dict[str, Any]) -> None:
        self.rt = rt
        self.client = client
        self.broker = broker

    @property
    def dispatched(self) -> list[tuple[str, tuple[Any, ...]]]:
        return self.rt.dispatcher.calls  # type: ignore[attr-defined]

    def inbox(self) -> list[InboxRow]:
        with self.rt.sessions() as s:
            return list(s.scalars(select(InboxRow).order_by(InboxRow.id)))

    def dead_letters(self) -> list[DeadLetter]:
        with self.rt.sessions() as s:
            return list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def make_world(tmp_path: Path, database_url: str, **settings: Any) -> Iterator[World]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    db.upgrade(database_url)
    connections = {
        "webshop": ConnectionSettings(
            connector="shopify",
            config={
                "shop_url": "https://brique-test.myshopify.com",
                "access_token": "shpat_not_used_here",
                "webhook_secret": WEBHOOK_SECRET,
            },
        ),
        "tills": ConnectionSettings(
            connector="poslog", config={"http_token": HTTP_TOKEN, "default_currency": "EUR"}
        ),
        "closed": ConnectionSettings(
            connector="poslog", config={"http_token": HTTP_TOKEN}, enabled=False
        ),
    }
    rt = Runtime(
        Settings(
            data_dir=tmp_path,
            database_url=database_url,
            mapping=mapping,
            web=WebSettings(max_body_bytes=LIMIT),
            connections=settings.pop("connections", connections),
            **settings,
        ),
        NullDispatcher(),
    )
    broker: dict[str, Any] = {"error": None, "calls": 0}

    def broker_check() -> None:
        broker["calls"] += 1
        if broker["error"] is not None:
            raise broker["error"]

    try:
        with TestClient(create_app(rt, broker_check)) as client:
            yield World(rt, client, broker)
    finally:
        rt.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, f"sqlite:///{tmp_path / 'brique.sqlite3'}")


@pytest.fixture
def any_db_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """The same receiver on SQLite and on PostgreSQL (skipped when it is not running)."""
    yield from make_world(tmp_path, database_url)


# -- Shopify webhooks ---------------------------------------------------------------------


def test_signed_delivery_is_stored_once_and_dispatched_once(any_db_world: World) -> None:
    w = any_db_world
    body = json.dumps(ORDER).encode()
    first = w.client.post("/webhooks/webshop", content=body, headers=shopify_headers(body))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 1, "duplicates": 0, "rejected": 0}
    (row,) = w.inbox()
    assert (row.connection, row.event_key, row.kind, row.status) == (
        "webshop",
        WEBHOOK_ID,
        "orders/create",
        "pending",
    )
    assert json.loads(row.payload) == ORDER
    assert w.dispatched == [("process_inbox", ("webshop", (row.id,)))]

    # Shopify delivers again (it did not see our 200 in time): nothing new happens.
    again = w.client.post("/webhooks/webshop", content=body, headers=shopify_headers(body))
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": 0}
    assert [r.id for r in w.inbox()] == [row.id]
    assert len(w.dispatched) == 1


def test_stored_order_decodes_to_a_web_sale(world: World) -> None:
    body = json.dumps(ORDER).encode()
    assert w_post(world, body).status_code == 200
    (row,) = world.inbox()
    from bridge.connector import InboundEvent

    event = InboundEvent(key=row.event_key, kind=row.kind, payload=json.loads(row.payload))
    (sale_body,) = world.rt.connector("webshop").decode(event)
    sale = sale_body.sale
    assert sale.channel == "web" and sale.key.transaction_id == str(ORDER["id"])
    assert [(x.sku, str(x.quantity), str(x.unit_price.amount)) for x in sale.lines] == [
        ("TSHIRT-RED-M", "2", "99.00"),
        ("JEANS-BLUE-32", "1", "200.00"),
    ]


def w_post(world: World, body: bytes, **headers: str) -> Any:
    return world.client.post(
        "/webhooks/webshop", content=body, headers=shopify_headers(body, **headers)
    )


def test_two_deliveries_of_different_events_are_two_rows(world: World) -> None:
    body = json.dumps(ORDER).encode()
    assert w_post(world, body).json()["accepted"] == 1
    assert w_post(world, body, **{"X-Shopify-Webhook-Id": "another-delivery"}).json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
    }
    assert [r.event_key for r in world.inbox()] == [WEBHOOK_ID, "another-delivery"]
    assert len(world.dispatched) == 2


@pytest.mark.parametrize(
    "signature",
    [
        sign(json.dumps(ORDER).encode(), "not-the-secret"),
        "",
        "bm90IGEgc2lnbmF0dXJl",
        sign(json.dumps(ORDER).encode())[:-4],
    ],
)
def test_forged_signature_is_refused_and_stores_nothing(world: World, signature: str) -> None:
    body = json.dumps(ORDER).encode()
    headers = shopify_headers(body, **{"X-Shopify-Hmac-Sha256": signature})
    response = world.client.post("/webhooks/webshop", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "signature refused"}
    assert world.inbox() == [] and world.dispatched == []


def test_tampered_body_is_refused(world: World) -> None:
    body = json.dumps(ORDER).encode()
    headers = shopify_headers(body)
    tampered = body.replace(b'"403.00"', b'"0.01"')
    assert tampered != body
    response = world.client.post("/webhooks/webshop", content=tampered, headers=headers)
    assert response.status_code == 401
    assert world.inbox() == []


def test_missing_signature_header_is_refused(world: World) -> None:
    body = json.dumps(ORDER).encode()
    headers = shopify_headers(body)
    del headers["X-Shopify-Hmac-Sha256"]
    assert world.client.post("/webhooks/webshop", content=body, headers=headers).status_code == 401
    assert world.inbox() == []


def test_signed_but_unreadable_body_is_422(world: World) -> None:
    body = b"[1, 2, 3]"
    response = w_post(world, body)
    assert response.status_code == 422
    assert "not a JSON object" in response.json()["detail"]
    assert world.inbox() == []


def test_body_over_the_limit_with_content_length_is_413(world: World) -> None:
    body = json.dumps({**ORDER, "note": "x" * LIMIT}).encode()
    response = w_post(world, body)
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["detail"]
    assert world.inbox() == []


def test_body_over_the_limit_without_content_length_is_413(world: World) -> None:
    body = json.dumps({**ORDER, "note": "x" * LIMIT}).encode()
    headers = shopify_headers(body)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = world.client.post("/webhooks/webshop", content=chunks(), headers=headers)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert world.inbox() == []


def test_chunked_body_under_the_limit_is_accepted(world: World) -> None:
    body = json.dumps(ORDER).encode()
    headers = shopify_headers(body)
    response = world.client.post(
        "/webhooks/webshop", content=iter([body[:100], body[100:]]), headers=headers
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 200, response.text
    assert len(world.inbox()) == 1


def test_body_of_exactly_the_limit_is_read(world: World) -> None:
    base = json.dumps({**ORDER, "note": ""}).encode()
    body = json.dumps({**ORDER, "note": "x" * (LIMIT - len(base))}).encode()
    assert len(body) == LIMIT
    assert w_post(world, body).status_code == 200


@pytest.mark.parametrize("name", ["nowhere", "closed"])
def test_unknown_or_disabled_connection_is_404(world: World, name: str) -> None:
    body = json.dumps(ORDER).encode()
    response = world.client.post(f"/webhooks/{name}", content=body, headers=shopify_headers(body))
    assert response.status_code == 404
    assert name in response.json()["detail"]
    assert world.inbox() == []


def test_webhook_work_runs_off_the_event_loop(world: World, monkeypatch) -> None:
    from bridge.sync import ingest

    seen: list[bool] = []
    real = ingest.receive_webhook

    def spy(*args: Any) -> Any:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(*args)

    monkeypatch.setattr(ingest, "receive_webhook", spy)
    assert w_post(world, json.dumps(ORDER).encode()).status_code == 200
    assert seen == [False], "receive_webhook ran on the event loop and would block it"


def test_shop_without_a_webhook_secret_answers_503_not_a_crash(tmp_path: Path) -> None:
    connections = {
        "webshop": ConnectionSettings(
            connector="shopify",
            config={"shop_url": "https://brique-test.myshopify.com", "access_token": "x"},
        )
    }
    for w in make_world(tmp_path, f"sqlite:///{tmp_path / 'b.sqlite3'}", connections=connections):
        response = w_post(w, json.dumps(ORDER).encode())
        assert response.status_code == 503
        assert w.inbox() == []


# -- POSLog over HTTP ---------------------------------------------------------------------


def test_poslog_post_with_token_stores_one_row_per_ticket(any_db_world: World) -> None:
    w = any_db_world
    body = document(
        [
            transaction("1001", 1, [Line("3600000000017", "2")]),
            transaction("1001", 2, [Line("3600000000024", "1", returned=True)]),
            transaction("1002", 1, [Line("3600000000031")]),
        ]
    )
    headers = {"Authorization": f"Bearer {HTTP_TOKEN}", "Content-Type": "application/xml"}
    response = w.client.post("/webhooks/tills", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": 0}
    rows = w.inbox()
    assert [r.event_key for r in rows] == [
        "1001/01/2026-11-23/1",
        "1001/01/2026-11-23/2",
        "1002/01/2026-11-23/1",
    ]
    assert {(r.connection, r.kind, r.status) for r in rows} == {("tills", "sale", "pending")}
    assert w.dispatched == [("process_inbox", ("tills", tuple(r.id for r in rows)))]
    # The till retries the same file: same tickets, nothing new.
    again = w.client.post("/webhooks/tills", content=body, headers=headers)
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": 0}
    assert len(w.inbox()) == 3 and len(w.dispatched) == 1


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {HTTP_TOKEN}x", "Bearer", f"Basic {HTTP_TOKEN}", HTTP_TOKEN, None],
)
def test_poslog_post_with_a_wrong_token_is_401(world: World, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    body = ticket("1001", 1, [Line("3600000000017")])
    response = world.client.post("/webhooks/tills", content=body, headers=headers)
    assert response.status_code == 401
    assert world.inbox() == [] and world.dispatched == []


def test_poslog_post_with_a_bad_ticket_keeps_the_good_ones(world: World) -> None:
    body = document(
        [
            transaction("1001", 1, [Line("3600000000017")]),
            transaction("1001", 2, [Line("3600000000017")]).replace(
                ">1</Quantity>", ">abc</Quantity>"
            ),
        ]
    )
    headers = {"Authorization": f"Bearer {HTTP_TOKEN}"}
    response = world.client.post("/webhooks/tills", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": 1}
    assert [r.event_key for r in world.inbox()] == ["1001/01/2026-11-23/1"]
    (dead,) = world.dead_letters()
    assert (dead.connection, dead.stage, dead.record) == ("tills", "ingest", "http:4")
    assert "'abc' is not a decimal number" in dead.error


def test_poslog_post_that_is_not_xml_is_422(world: World) -> None:
    headers = {"Authorization": f"Bearer {HTTP_TOKEN}"}
    response = world.client.post("/webhooks/tills", content=b"<POSLog><oops", headers=headers)
    assert response.status_code == 422
    assert world.inbox() == []


# -- health -------------------------------------------------------------------------------


def test_health_reports_database_broker_mapping_and_connections(world: World) -> None:
    body = json.dumps(ORDER).encode()
    w_post(world, body)
    headers = {"Authorization": f"Bearer {HTTP_TOKEN}"}
    world.client.post(
        "/webhooks/tills", content=ticket("1001", 1, [Line("3600000000017")]), headers=headers
    )
    response = world.client.get("/health")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert report["database"] == {"status": "ok"}
    assert report["broker"] == {"status": "ok"}
    assert world.broker["calls"] == 1
    assert report["mapping"] == {
        "path": str(world.rt.settings.mapping),
        "version": world.rt.mapping.plan.version,
        "loaded_at": report["mapping"]["loaded_at"],
        "status": "ok",
        "error": None,
    }
    assert len(report["mapping"]["version"]) == 16
    connections = report["connections"]
    assert set(connections) == {"webshop", "tills", "closed"}
    assert connections["webshop"]["connector"] == "shopify"
    assert connections["webshop"]["inbox"] == {"pending": 1}
    assert connections["tills"]["inbox"] == {"pending": 1}
    assert connections["closed"]["enabled"] is False
    for name in connections:
        assert connections[name]["state"] == "ok"
        assert connections[name]["dead_letters"] == 0
        assert connections[name]["outbox"] == {}


def test_health_when_the_broker_is_down(world: World) -> None:
    world.broker["error"] = ConnectionRefusedError("redis://u:p@h down")
    response = world.client.get("/health")
    assert response.status_code == 200  # the receiver still stores webhooks
    report = response.json()
    assert report["status"] == "degraded"
    assert report["broker"] == {"status": "down", "error": "ConnectionRefusedError"}
    assert "p@h" not in response.text


def test_health_shows_a_broken_mapping_and_keeps_the_last_good_one(world: World) -> None:
    good = world.rt.mapping.plan.version
    path = world.rt.settings.mapping
    path.write_text(MAPPING.replace("locations:", "locatoins:"))
    os.utime(path, (1, 1))
    report = world.client.get("/health").json()
    assert report["status"] == "degraded"
    assert report["mapping"]["status"] == "error"
    assert report["mapping"]["version"] == good
    assert f"{path}:2:1: unknown key 'locatoins'" in report["mapping"]["error"]


def test_health_counts_dead_letters_and_stopped_connections(world: World) -> None:
    from bridge.store.tables import ConnectionState
    from bridge.sync import deadletters

    with world.rt.transaction() as s:
        deadletters.record(s, connection="tills", stage="ingest", error="bad file", record="x")
        s.add(ConnectionState(name="webshop", status="stopped", reason="401 from Shopify"))
    report = world.client.get("/health").json()
    assert report["status"] == "degraded"
    assert report["connections"]["tills"]["dead_letters"] == 1
    assert report["connections"]["webshop"]["state"] == "stopped"
    assert report["connections"]["webshop"]["reason"] == "401 from Shopify"


def test_health_alerts_on_a_gap_in_ticket_numbers(world: World) -> None:
    from bridge.sync import apply

    headers = {"Authorization": f"Bearer {HTTP_TOKEN}"}
    for seq in (1, 4):
        world.client.post(
            "/webhooks/tills", content=ticket("1001", seq, [Line("3600000000017")]), headers=headers
        )
    with world.rt.sessions() as s:
        ids = s.scalars(select(InboxRow.id).where(InboxRow.connection == "tills")).all()
    for inbox_id in ids:
        apply.process_inbox(world.rt, inbox_id)
    report = world.client.get("/health").json()
    assert report["status"] == "degraded"
    (alert,) = report["alerts"]
    assert alert.startswith("ticket gap: tills store 1001 register 01 on ")
    assert alert.endswith("ticket(s) 2, 3 missing")


def test_health_without_a_database_is_503_not_a_crash(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    rt = Runtime(Settings(data_dir=tmp_path, database_url=f"sqlite:///{folder}"))
    try:
        with TestClient(create_app(rt)) as client:
            response = client.get("/health")
    finally:
        rt.close()
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "degraded"
    assert report["database"]["status"] == "down"
    assert report["connections"] == {"error": "OperationalError"}
    assert "broker" not in report


def test_health_before_migrations_is_degraded(tmp_path: Path) -> None:
    rt = Runtime(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        with TestClient(create_app(rt)) as client:
            response = client.get("/health")
    finally:
        rt.close()
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["connections"] == {"error": "OperationalError"}
