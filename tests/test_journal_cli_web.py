"""``brique journal export`` and ``GET /journal/export`` give the same rows as the library."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from tests.support import write_yaml
from tests.test_journal import (
    CANCELLED,
    DECEMBER,
    GOLDEN_HEADER,
    LYON_FIRST_NIGHT,
    LYON_LAST_NIGHT,
    ORDER,
    RETURN,
    SALE,
    Journal,
    make_journal,
)
from workers.cli import app
from workers.web import create_app

TOKEN = "journal-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Setup:
    def __init__(self, journal: Journal, config: Path, client: TestClient) -> None:
        self.journal, self.config, self.client = journal, config, client

    def cli(self, *args: str) -> Any:
        runner = CliRunner()
        return runner.invoke(
            app, ["journal", "export", *args, "--config", str(self.config)], catch_exceptions=False
        )

    def http(self, headers: dict[str, str] | None = None, **params: str) -> Any:
        return self.client.get("/journal/export", params=params, headers=AUTH | (headers or {}))


@pytest.fixture
def setup(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    monkeypatch.delenv("BRIQUE_CONFIG", raising=False)  # the CLI sets it from --config
    for journal in make_journal(tmp_path, database_url):
        journal.ring(SALE, RETURN, CANCELLED, LYON_LAST_NIGHT, LYON_FIRST_NIGHT, DECEMBER)
        journal.order(ORDER)
        config = write_yaml(
            tmp_path / "brique.yaml",
            {
                "data_dir": str(tmp_path),
                "database_url": database_url,
                "mapping": str(journal.rt.settings.mapping),
                "connections": {"tills": {"connector": "poslog"}},
            },
        )
        journal.rt.settings.web.export_token = SecretStr(TOKEN)
        with TestClient(create_app(journal.rt)) as client:
            yield Setup(journal, config, client)


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_cli_http_and_library_give_the_same_rows(setup: Setup, tmp_path: Path) -> None:
    month = {"start": "2026-11-01", "end": "2026-12-01", "tz": "Europe/Paris"}
    expected = setup.journal.rows(**month)
    assert len(expected) == 9
    result = setup.cli("--from", "2026-11-01", "--to", "2026-12-01", "--tz", "Europe/Paris",
                       "--output", "-")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "journal: 5 ticket(s), 9 line(s) -> stdout"
    from_cli = parse(result.stdout_bytes.decode())
    out = tmp_path / "journal.csv"
    result = setup.cli("--from", "2026-11-01", "--to", "2026-12-01", "--tz", "Europe/Paris",
                       "--output", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"journal: 5 ticket(s), 9 line(s) -> {out}"
    assert parse(result_text(out)) == from_cli
    response = setup.http(**{"from": "2026-11-01", "to": "2026-12-01", "tz": "Europe/Paris"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.text == result_text(out)
    assert from_cli[0] == GOLDEN_HEADER
    assert [dict(zip(GOLDEN_HEADER, r, strict=True)) for r in from_cli[1:]] == expected


def result_text(path: Path) -> str:
    return path.read_bytes().decode()


def test_filters_reach_the_cli_and_the_route(setup: Setup) -> None:
    args = ["--from", "2026-11-01", "--to", "2026-12-01"]
    result = setup.cli(*args, "--store", "PARIS-01", "--channel", "store", "--output", "-")
    assert result.exit_code == 0, result.output
    rows = parse(result.stdout_bytes.decode())[1:]
    assert {r[GOLDEN_HEADER.index("location")] for r in rows} == {"PARIS-01"}
    response = setup.http(**{"from": "2026-11-01", "to": "2026-12-01", "store": "PARIS-01",
                             "channel": "store"})  # fmt: skip
    assert response.text == result.stdout_bytes.decode()
    web = setup.http(**{"from": "2026-11-01", "to": "2026-12-01", "channel": "web"})
    assert {r[GOLDEN_HEADER.index("channel")] for r in parse(web.text)[1:]} == {"web"}


def test_empty_range_gives_the_header_only(setup: Setup) -> None:
    result = setup.cli("--from", "2030-01-01", "--to", "2030-02-01", "--output", "-")
    assert result.exit_code == 0
    assert parse(result.stdout_bytes.decode()) == [GOLDEN_HEADER]
    assert "0 ticket(s), 0 line(s)" in result.stderr
    response = setup.http(**{"from": "2030-01-01", "to": "2030-02-01"})
    assert response.status_code == 200 and parse(response.text) == [GOLDEN_HEADER]


def test_parquet_from_the_cli(setup: Setup, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "journal.parquet"
    result = setup.cli("--from", "2026-11-01", "--to", "2026-12-01", "--format", "parquet",
                       "--output", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_rows == 9
    refused = setup.cli("--from", "2026-11-01", "--to", "2026-12-01", "--format", "parquet",
                        "--output", "-")  # fmt: skip
    assert refused.exit_code == 2 and "Parquet needs a file" in refused.stderr


BAD = [
    ({"from": "2026-11-31", "to": "2026-12-01"}, "is not a date"),
    ({"from": "2026-12-01", "to": "2026-11-01"}, "before it starts"),
    ({"from": "2026-11-01", "to": "2026-12-01", "tz": "Nowhere/City"}, "unknown time zone"),
    ({"from": "2026-11-01", "to": "2026-12-01", "channel": "phone"}, "store"),
    ({"from": "2026-11-01", "to": "2026-12-01", "format": "xlsx"}, "csv"),
    ({"to": "2026-12-01"}, "from"),
]


def test_bad_requests_are_422_and_bad_options_exit_2(setup: Setup) -> None:
    for params, message in BAD:
        response = setup.http(**params)
        assert response.status_code == 422, params
        assert message in response.text, params
        cli = {"from": "--from", "to": "--to", "tz": "--tz", "channel": "--channel",
               "format": "--format"}  # fmt: skip
        if "from" in params:
            args = [a for key, value in params.items() for a in (cli[key], value)]
            result = setup.cli(*args, "--output", "-")
            assert result.exit_code == 2, params
            assert message in result.stderr, params


def test_the_route_needs_the_token_and_is_off_without_one(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    month = {"from": "2026-11-01", "to": "2026-12-01"}
    wrong = setup.http(headers={"Authorization": "Bearer nope"}, **month)
    assert wrong.status_code == 401
    anonymous = setup.client.get("/journal/export", params=month)
    assert anonymous.status_code == 401
    setup.journal.rt.settings.web.export_token = None
    off = setup.http(**month)
    assert off.status_code == 403 and "web.export_token" in off.text


def test_the_route_is_documented_in_openapi(setup: Setup) -> None:
    spec = setup.client.get("/openapi.json").json()
    operation = spec["paths"]["/journal/export"]["get"]
    assert "sales journal" in operation["summary"]
    assert "one CSV row per sale line" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "store", "channel"}
    assert "text/csv" in operation["responses"]["200"]["content"]
