"""Every basket flow from HTTP (and its OpenAPI page) and from the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from bridge.baskets import codes, timers
from bridge.sync import ingest
from tests.baskets.conftest import HOOK_URL
from tests.baskets.test_basket_journeys import T0, cart
from tests.support import write_yaml
from workers.cli import app
from workers.web import create_app

TOKEN = "baskets-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api(world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    monkeypatch.delenv("BRIQUE_CONFIG", raising=False)
    rt = world[0]
    rt.settings.web.export_token = SecretStr(TOKEN)
    config = write_yaml(
        tmp_path / "brique.yaml",
        {
            "data_dir": str(tmp_path),
            "database_url": rt.settings.resolved_database_url(),
            "mapping": str(rt.settings.mapping),
            "connections": {"tills": {"connector": "poslog"}},
        },
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as hooks:
        hooks.add(responses.POST, HOOK_URL, status=200)
        hooks.add_passthru("http://testserver")
        with TestClient(create_app(rt)) as client:
            yield world, client, config


def cli(config: Path, *args: str) -> object:
    return CliRunner().invoke(app, [*args, "--config", str(config)], catch_exceptions=False)


def test_store_basket_over_http_to_a_web_cart_with_qr(api) -> None:
    _, client, _ = api
    body = {
        "store": "PARIS-01",
        "lines": [{"sku": "TSHIRT-RED-M", "quantity": "2", "unit_price": "19.90"}],
        "customer": {"email": "eve@example.com"},
        "request_id": "tablet-3/scan-1",
    }
    assert client.post("/baskets", json=body).status_code == 401
    made = client.post("/baskets", json=body, headers=AUTH)
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert client.post("/baskets", json=body, headers=AUTH).json()["code"] == code
    assert made.json()["lines"] == [
        {
            "sku": "TSHIRT-RED-M",
            "quantity": "2",
            "unit_price": {"amount": "19.90", "currency": "EUR"},
        }
    ]

    handed = client.post(f"/baskets/{code}/handoff", json={"connection": "webshop"}, headers=AUTH)
    assert handed.status_code == 202, handed.text
    assert handed.json()["handoffs"][0]["url"] == "https://shop.test/checkout/webshop-1"

    png = client.get(f"/baskets/{code.lower()}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = client.get(f"/baskets/{code}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert client.get("/baskets/ZZZZ-ZZZZ/qr.png").status_code in (404, 422)

    view = client.get(f"/baskets/{code}", params={"store": "PARIS-01"}, headers=AUTH).json()
    assert view["at_store"]["lines"][0]["short_by"] == "2"  # nothing counted in that store
    assert [e["event"] for e in view["journal"]] == ["created", "transferred", "handoff_opened"]

    events = client.get("/events", params={"topic": "basket.*"}, headers=AUTH).json()
    assert [e["topic"] for e in events] == [
        "basket.created",
        "basket.transferred",
        "basket.handoff_opened",
    ]
    assert events[0]["deliveries"][0]["status"] == "delivered"
    one = client.get(f"/events/{events[0]['id']}", headers=AUTH).json()
    assert one["deliveries"][0]["tries"][0]["status_code"] == 200


def test_errors_are_clear_over_http(api) -> None:
    _, client, _ = api
    bad = client.get("/baskets/K7M4-QXZ", headers=AUTH)
    assert bad.status_code == 422 and "expected 8 characters" in bad.json()["detail"]
    code = codes.display(codes.new_code())
    assert client.get(f"/baskets/{code}", headers=AUTH).status_code == 404
    unknown = client.post(
        "/baskets", json={"store": "NOPE", "lines": [{"sku": "A", "quantity": "1"}]}, headers=AUTH
    )
    assert unknown.status_code == 422 and "unknown store 'NOPE'" in unknown.json()["detail"]
    assert client.post("/baskets", json={"lines": []}, headers=AUTH).status_code == 422


def test_abandoned_carts_of_a_customer_over_http_and_cli(api) -> None:
    (rt, _, shop, _), client, config = api
    shop.push_basket(cart())
    ingest.poll(rt, "webshop", "feed")
    golden = client.get("/baskets/by-source/webshop/cart-1", headers=AUTH).json()["golden_id"]
    timers.tick(rt, now=T0 + timedelta(hours=2))
    found = client.get(
        f"/customers/{golden}/abandoned-carts", params={"actionable": "true"}, headers=AUTH
    ).json()
    assert [(c["status"], c["actionable"]) for c in found] == [("abandoned", True)]
    result = cli(config, "baskets", "customer", str(golden), "--actionable", "--json")
    assert result.exit_code == 0, result.output
    assert [c["code"] for c in json.loads(result.stdout)] == [found[0]["code"]]
    history = client.get(f"/customers/{golden}/baskets", headers=AUTH).json()
    assert [e["event"] for e in history[0]["journal"]] == ["created", "abandoned"]


def test_cli_create_show_and_qr(api, tmp_path: Path) -> None:
    _, _, config = api
    made = cli(
        config,
        "baskets",
        "create",
        "--store",
        "PARIS-01",
        "-l",
        "TSHIRT-RED-M=2@19.90",
        "--email",
        "zed@example.com",
        "--json",
    )
    assert made.exit_code == 0, made.output
    code = json.loads(made.stdout)["code"]
    shown = cli(config, "baskets", "show", code.replace("-", ""), "--store", "PARIS-01")
    assert shown.exit_code == 0, shown.output
    assert code in shown.stdout and "at PARIS-01: 1 difference(s)" in shown.stdout
    out = tmp_path / "basket.svg"
    written = cli(config, "baskets", "qr", code, "--output", str(out))
    assert written.exit_code == 0 and out.read_bytes().startswith(b"<svg")
    assert cli(config, "baskets", "show", "NOT-A-CODE").exit_code == 2
    assert cli(config, "baskets", "create", "-l", "=2").exit_code == 2
    listed = cli(config, "events", "list", "--topic", "basket.*", "--json")
    assert [e["topic"] for e in json.loads(listed.stdout)] == ["basket.created"]


def test_the_openapi_page_documents_every_basket_route(api) -> None:
    _, client, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/baskets", "post"),
        ("/baskets/{code}", "get"),
        ("/baskets/{code}/handoff", "post"),
        ("/baskets/{code}/qr.{kind}", "get"),
        ("/baskets/by-source/{connection}/{source_id}", "get"),
        ("/customers/{customer_id}/baskets", "get"),
        ("/customers/{customer_id}/abandoned-carts", "get"),
        ("/events", "get"),
        ("/events/{event_id}", "get"),
        ("/events/deliveries/{delivery_id}/redeliver", "post"),
    ]:
        operation = paths[path][method]
        assert operation["summary"], path
