"""``brique prices parity`` and ``GET /prices/parity`` show the same comparison; ``/health``
counts open divergences."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bridge.parity.scan import check_parity
from tests.parity.world import World, mapping_text
from tests.support import write_yaml
from workers.cli import app
from workers.web import create_app


class Setup:
    def __init__(self, world: World, config: Path, client: TestClient) -> None:
        self.world, self.config, self.client = world, config, client

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(
            app,
            ["prices", "parity", *args, "--config", str(self.config)],
            catch_exceptions=False,
            env={"COLUMNS": "200"},  # one row per SKU line, whatever the terminal
        )

    def http(self, **params: Any) -> Any:
        return self.client.get("/prices/parity", params=params)


@pytest.fixture
def setup(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, no_commit_margin: None
) -> Iterator[Setup]:
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    monkeypatch.delenv("BRIQUE_CONFIG", raising=False)  # the CLI sets it from --config
    world = World(tmp_path, database_url, mapping_text())
    world.prices(
        "SOCKS,5.00,default",  # the same everywhere
        "TSHIRT-RED-M,20.00,default", "TSHIRT-RED-M,18.00,lyon",  # cheaper in Lyon
        "SCARF,30.00,default", "SCARF,27.00,outlet",  # an intended outlet discount
    )  # fmt: skip
    config = write_yaml(
        tmp_path / "brique.yaml",
        {
            "data_dir": str(tmp_path),
            "database_url": database_url,
            "mapping": str(world.mapping),
            "connections": {"tills": {"connector": "poslog"}}
            | {
                name: {
                    "connector": "shopify",
                    "config": {"shop_url": "https://x.invalid", "access_token": "unused"},
                }
                for name in ("webshop", "outlet")
            },
        },
    )
    with TestClient(create_app(world.rt)) as client:
        yield Setup(world, config, client)
    world.close()


def test_the_table_shows_divergent_skus_with_their_prices_and_verdict(setup: Setup) -> None:
    result = setup.cli()
    assert result.exit_code == 0, result.output
    out = result.output
    assert "prices in EUR, tax included, rounded to 2 places" in out
    for column in ("channel:webshop", "channel:outlet", "store:LYON-02", "list:default"):
        assert column in out
    assert "TSHIRT-RED-M" in out and "divergent" in out and "18.00" in out
    assert "SOCKS" not in out and "SCARF" not in out  # agreeing, or as intended
    assert "3 SKU(s) compared, 1 divergent (1 divergence(s)); 1 open divergence(s) recorded" in out
    every = setup.cli("--all").output
    assert "SOCKS" in every and "SCARF" in every and "allowed" in every


def test_exit_code_says_whether_a_divergence_is_shown(setup: Setup) -> None:
    assert setup.cli("--exit-code").exit_code == 1
    assert setup.cli("--exit-code", "--sku", "SOCKS", "--sku", "SCARF").exit_code == 0
    assert setup.cli("--exit-code", "--store", "PARIS-01").exit_code == 0
    assert setup.cli("--exit-code", "--store", "LYON-02").exit_code == 1


def test_json_names_the_basis_the_prices_their_sources_and_since(setup: Setup) -> None:
    result = setup.cli("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["basis"]["tax_included"] is True and report["basis"]["currency"] == "EUR"
    assert report["policy"]["groups"]["france"]["reference"] == "list:default"
    (row,) = report["skus"]
    assert (row["sku"], row["verdict"]) == ("TSHIRT-RED-M", "divergent")
    assert row["spread"] == {"min": "18.00", "max": "20.00", "amount": "2.00", "percent": "10.0"}
    assert row["prices"]["store:LYON-02"]["price_list"] == "lyon"
    assert row["prices"]["channel:outlet"]["native"] == "16.67"  # shown tax excluded
    assert row["prices"]["channel:outlet"]["price"] == "20.00"
    assert row["prices"]["channel:webshop"]["held"]["state"] == "published"
    (divergence,) = row["divergences"]
    assert divergence["member"] == "store:LYON-02" and divergence["since"] is not None


def test_the_http_route_gives_the_cli_json(setup: Setup) -> None:
    response = setup.http()
    assert response.status_code == 200
    assert response.json() == json.loads(setup.cli("--json").output) | {"next_after": None}


def test_the_http_route_filters_and_pages(setup: Setup) -> None:
    lyon = setup.http(store="LYON-02").json()
    assert lyon["members"] == ["store:LYON-02"]
    assert [r["sku"] for r in lyon["skus"]] == ["TSHIRT-RED-M"]
    assert setup.http(channel="outlet").json()["skus"] == []
    first = setup.http(all="true", limit=2).json()
    assert [r["sku"] for r in first["skus"]] == ["SCARF", "SOCKS"]
    assert first["next_after"] == "SOCKS"
    rest = setup.http(all="true", limit=2, after=first["next_after"]).json()
    assert [r["sku"] for r in rest["skus"]] == ["TSHIRT-RED-M"] and rest["next_after"] is None
    only = setup.http(sku=["SOCKS", "SCARF"], all="true").json()
    assert [r["verdict"] for r in only["skus"]] == ["allowed", "ok"]


def test_unknown_filters_are_refused_with_a_hint(setup: Setup) -> None:
    response = setup.http(channel="outlett")
    assert response.status_code == 422
    assert "unknown channel 'outlett' (did you mean 'outlet'?)" in response.json()["detail"]
    result = setup.cli("--store", "LYON-2")
    assert result.exit_code == 2 and "did you mean 'LYON-02'" in result.output


def test_the_route_is_documented_and_open(setup: Setup) -> None:
    operation = setup.client.get("/openapi.json").json()["paths"]["/prices/parity"]["get"]
    assert operation["summary"].startswith("Price parity")
    assert "tax included" in operation["description"]
    assert "security" not in operation  # prices are not personal data


def test_health_lists_open_divergences(setup: Setup) -> None:
    health = setup.client.get("/health").json()
    assert "price divergence: 1 open (brique prices parity, GET /prices/parity)" in health["alerts"]
    assert health["status"] == "degraded"
    setup.world.prices("TSHIRT-RED-M,20.00,lyon")
    check_parity(setup.world.rt)
    health = setup.client.get("/health").json()
    assert not [a for a in health["alerts"] if a.startswith("price")]


def test_health_forgets_divergences_once_the_watchdog_is_switched_off(setup: Setup) -> None:
    assert any(
        a.startswith("price divergence") for a in setup.client.get("/health").json()["alerts"]
    )
    mapping = setup.world.mapping
    mapping.write_text(
        mapping.read_text().replace("    every: 1h\n", "    every: 1h\n    enabled: false\n")
    )
    alerts = setup.client.get("/health").json()["alerts"]  # /health reloads a changed mapping
    assert not [a for a in alerts if a.startswith("price")]
