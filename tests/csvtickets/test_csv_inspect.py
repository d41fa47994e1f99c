"""``brique inspect --connector csv FILE``: the command builds the connector with no settings,
so a file whose headers are Brique's own names is read as it is."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge import registry
from connectors.csvtickets import CsvTicketsConnector
from workers.cli import app

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def csv_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``csv`` connector found by name, whether or not its entry point is installed yet."""
    original = registry.get

    def get(name: str) -> registry.Registered:
        if name == "csv":
            return registry.Registered("csv", CsvTicketsConnector, "brique")
        return original(name)

    monkeypatch.setattr(registry, "get", get)


def test_inspect_prints_the_sales_and_the_rejected_tickets(
    csv_registered: None, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "store,workstation,business_day,ticket,sku,quantity,unit_price,amount,currency\n"
        "1001,01,2026-11-23,7,00042,2,4.99,9.98,EUR\n"
        "1001,01,2026-11-23,8,00042,-1,4.99,4.99,EUR\n"
        "1001,01,2026-11-23,9,00042,lots,4.99,4.99,EUR\n"
    )
    result = CliRunner().invoke(app, ["inspect", "--connector", "csv", str(path)])
    assert result.exit_code == 1, result.output  # a ticket was rejected
    sales = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["ticket"] for s in sales] == ["1001/01/2026-11-23/7", "1001/01/2026-11-23/8"]
    assert sales[0]["lines"][0]["sku"] == "00042"
    assert sales[0]["lines"][0]["quantity"] == "2"
    assert sales[1]["lines"][0]["return"] is True
    assert sales[1]["lines"][0]["amount"] == "-4.99"
    (rejected,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert rejected["rejected"] == f"{path}:4"
    assert "quantity (quantity): 'lots' is not a number" in rejected["error"]


def test_inspect_reports_an_unreadable_file(csv_registered: None, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Magasin,Ticket,Article\n1,2,3\n")
    result = CliRunner().invoke(app, ["inspect", "--connector", "csv", str(path)])
    assert result.exit_code == 1
    assert "missing columns 'store' (store), 'sku' (sku), 'quantity' (quantity)" in result.stderr


def test_the_entry_point_names_this_connector() -> None:
    found = [e for e in entry_points(group="brique.connectors") if e.name == "csv"]
    if not found:
        pytest.skip(
            'entry point not installed yet: add csv = "connectors.csvtickets:'
            'CsvTicketsConnector" to pyproject.toml, then pip install -e .'
        )
    assert found[0].load() is CsvTicketsConnector
