"""``brique returns list|show`` and ``GET /returns``, ``GET /returns/{id}`` show the same
store returns, and the HTTP routes answer only with the personal-data token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from tests.returns.conftest import TILL_SKU, World, make, shopify_order, store_return
from tests.support import write_yaml
from workers.cli import app
from workers.web import create_app

TOKEN = "returns-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Setup:
    def __init__(self, world: World, config: Path, client: TestClient) -> None:
        self.world, self.config, self.client = world, config, client

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(
            app,
            ["returns", *args, "--config", str(self.config)],
            catch_exceptions=False,
            env={"COLUMNS": "250"},  # tables are not wrapped
        )

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def http(self, path: str, **params: str) -> Any:
        response = self.client.get(path, params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def setup(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    monkeypatch.delenv("BRIQUE_CONFIG", raising=False)
    for world in make(tmp_path, database_url):
        world.order(shopify_order(lines=(("TSHIRT-RED-M", 2, "30.00"),)))
        world.ring(store_return(1, "#1001", lines=((TILL_SKU, "-1", "-25.00"),)))
        world.ring(store_return(2, "#4242"))
        config = write_yaml(
            tmp_path / "brique.yaml",
            {
                "data_dir": str(tmp_path),
                "database_url": database_url,
                "mapping": str(world.rt.settings.mapping),
                "connections": {"tills": {"connector": "poslog"}},
            },
        )
        world.rt.settings.web.export_token = SecretStr(TOKEN)
        with TestClient(create_app(world.rt)) as client:
            yield Setup(world, config, client)


def test_cli_and_http_list_the_same_returns(setup: Setup) -> None:
    listed = setup.json("list")
    assert listed == setup.http("/returns")
    assert [(r["reference"], r["status"]) for r in listed] == [
        ("#4242", "unmatched"),
        ("#1001", "matched"),
    ]
    matched = listed[1]
    assert matched["order"]["number"] == "#1001"
    assert matched["shop"]["status"] == "done"
    # 30.00 paid online, 25.00 refunded in store: 5.00 left to refund.
    assert matched["difference"] == {
        "status": "flagged",
        "amount": "5.00",
        "currency": "EUR",
        "cause": "the store refunded less than the customer paid online",
        "event_id": matched["difference"]["event_id"],
    }
    assert matched["difference"]["event_id"] is not None
    waiting = setup.json("list", "--unmatched")
    assert waiting == setup.http("/returns", unmatched="true")
    assert [(r["reference"], r["reason_code"]) for r in waiting] == [("#4242", "unknown_order")]


def test_cli_and_http_show_one_return_with_its_lines(setup: Setup) -> None:
    matched = setup.json("list")[1]
    shown = setup.json("show", str(matched["id"]))
    assert shown == setup.http(f"/returns/{matched['id']}")
    assert setup.json("show", matched["key"]) == shown
    (line,) = shown["lines"]
    assert (line["sku"], line["quantity"], line["paid"], line["refunded"]) == (
        "TSHIRT-RED-M",
        "1",
        "30.00",
        "25.00",
    )
    assert line["from_order_lines"] == [{"line_no": "466157049", "quantity": "1"}]
    text = setup.cli("show", str(matched["id"]))
    assert text.exit_code == 0
    assert "5.00 EUR to refund" in text.stdout
    table = setup.cli("list")
    assert "#4242 (not found)" in table.stdout


def test_unknown_returns_exit_2_and_answer_404(setup: Setup) -> None:
    result = setup.cli("show", "999")
    assert result.exit_code == 2
    assert "no store return" in result.stderr
    assert setup.client.get("/returns/999", headers=AUTH).status_code == 404


def test_the_routes_hold_customer_orders_and_need_the_token(setup: Setup) -> None:
    assert setup.client.get("/returns").status_code == 401
    assert (
        setup.client.get("/returns/1", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    setup.world.rt.settings.web.export_token = None
    assert setup.client.get("/returns", headers=AUTH).status_code == 403
    spec = setup.client.get("/openapi.json").json()["paths"]
    for path in ("/returns", "/returns/{return_id}"):
        operation = spec[path]["get"]
        assert operation["summary"] and "Bearer" in operation["description"]
