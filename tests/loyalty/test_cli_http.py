"""``brique loyalty show|history|adjust`` and ``GET /customers/{id}/loyalty`` (token-guarded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from bridge.customers import merge
from bridge.loyalty.tables import LoyaltyPublication
from bridge.model import CustomerRef
from tests.loyalty.conftest import World, item, ticket
from tests.support import write_yaml
from workers.cli import app
from workers.web import create_app

TOKEN = "loyalty-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Setup:
    def __init__(self, world: World, config: Path, client: TestClient) -> None:
        self.world, self.config, self.client = world, config, client

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(
            app, ["loyalty", *args, "--config", str(self.config)], catch_exceptions=False
        )

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def setup(
    tmp_path: Path, database_url: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    monkeypatch.delenv("BRIQUE_CONFIG", raising=False)  # the CLI sets it from --config
    (tmp_path / "mapping.yaml").write_text(
        (tmp_path / "mapping.yaml").read_text() + "  publish: [shop]\n"
    )
    assert world.rt.mapping.reload_if_changed()
    world.ring(
        ticket(1, CustomerRef(customer_id="C1"), item("1", "TSHIRT", "1", "19.99")),
        ticket(2, CustomerRef(customer_id="C2"), item("1", "COAT", "1", "100")),
    )
    config = write_yaml(
        tmp_path / "brique.yaml",
        {
            "data_dir": str(tmp_path),
            "database_url": database_url,
            "mapping": str(tmp_path / "mapping.yaml"),
            "connections": {
                "tills": {"connector": "poslog"},
                "shop": {
                    "connector": "shopify",
                    "config": {"shop_url": "https://x.myshopify.com", "access_token": "t"},
                },
            },
        },
    )
    world.rt.settings.web.export_token = SecretStr(TOKEN)
    with TestClient(create_app(world.rt)) as client:
        yield Setup(world, config, client)


def test_show_is_the_same_on_the_cli_and_over_http(setup: Setup) -> None:
    one = setup.world.golden("tills", "C1")
    shown = setup.json("show", str(one))
    response = setup.client.get(f"/customers/{one}/loyalty", headers=AUTH)
    assert response.status_code == 200 and response.json() == shown
    assert (shown["golden_id"], shown["balance"], shown["totals"]) == (one, "19", {"earn": "19"})
    text = setup.cli("show", str(one))
    assert text.exit_code == 0 and "19 points" in text.stdout


def test_a_merged_id_shows_the_balance_it_joined(setup: Setup) -> None:
    one, two = setup.world.golden("tills", "C1"), setup.world.golden("tills", "C2")
    with setup.world.rt.transaction() as s:
        merge(s, one, two, "same person")
    shown = setup.json("show", str(two))
    assert (shown["customer_id"], shown["golden_id"], shown["balance"]) == (two, one, "119")
    assert "was merged into" in setup.cli("show", str(two)).stderr


def test_history_lists_every_entry_with_the_running_balance(setup: Setup) -> None:
    one = setup.world.golden("tills", "C1")
    assert setup.cli("adjust", str(one), "-4", "--reason", "typo", "--key", "K1").exit_code == 0
    data = setup.json("history", str(one))
    assert [(e["kind"], e["points"], e["balance"]) for e in data["entries"]] == [
        ("earn", "19", "19"),
        ("adjust", "-4", "15"),
    ]
    assert data["entries"][1]["reason"] == "typo"
    assert setup.cli("history", str(one)).exit_code == 0


def test_adjust_is_idempotent_by_key_and_queues_a_push(setup: Setup) -> None:
    one = setup.world.golden("tills", "C1")
    first = setup.cli("adjust", str(one), "10", "--reason", "goodwill", "--key", "T-7")
    assert first.exit_code == 0 and "10 points on customer" in first.stdout
    again = setup.cli("adjust", str(one), "10", "--reason", "goodwill", "--key", "T-7")
    assert again.exit_code == 0 and "already recorded" in again.stdout
    assert setup.json("show", str(one))["balance"] == "29"
    with setup.world.rt.sessions() as s:
        pub = s.scalar(select(LoyaltyPublication).where(LoyaltyPublication.golden_id == one))
    assert pub is not None and pub.connection == "shop" and pub.dirty  # the sweeper pushes it
    other = setup.cli("adjust", str(one), "11", "--reason", "goodwill", "--key", "T-7")
    assert other.exit_code == 1 and "use a new key" in other.stderr


def test_bad_requests_exit_2_and_answer_401_or_404(setup: Setup) -> None:
    for args in (["show", "999"], ["history", "999"], ["adjust", "999", "5", "--reason", "x",
                 "--key", "k"], ["adjust", "1", "five", "--reason", "x", "--key", "k"],
                 ["adjust", "1", "5", "--reason", " ", "--key", "k"]):  # fmt: skip
        result = setup.cli(*args)
        assert result.exit_code == 2, (args, result.output)
    assert "no golden record 999" in setup.cli("show", "999").stderr
    assert setup.client.get("/customers/1/loyalty").status_code == 401
    missing = setup.client.get("/customers/999/loyalty", headers=AUTH)
    assert missing.status_code == 404 and "no golden record 999" in missing.text
    schema = setup.client.get("/openapi.json").json()["paths"]["/customers/{customer_id}/loyalty"]
    assert schema["get"]["summary"] and schema["get"]["description"]
