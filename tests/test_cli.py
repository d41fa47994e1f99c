"""The ``brique`` command: connectors, inspect, db, status, dead letters, mapping, stock."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select
from typer.testing import CliRunner

from bridge.connector import ConnectorContext
from bridge.settings import load_settings
from bridge.store.tables import DeadLetter, InboxRow, StockMovementRow
from bridge.sync import apply, ingest
from bridge.sync.runtime import NullDispatcher, Runtime
from connectors.poslog.samples import Line, document, ticket, transaction
from tests.fakes import FakeShop, InlineDispatcher
from tests.support import CORPUS, REPO, need, write_yaml
from tests.test_sync import MAPPING
from workers.cli import app

TABLES = {
    "connection_state",
    "bindings",
    "inbox",
    "sales",
    "stock_movements",
    "stock_publications",
    "outbox",
    "outbox_attempts",
    "sync_cursors",
    "dead_letters",
}
SALE_KEYS = {"ticket", "store", "status", "occurred_at", "currency", "total", "lines"}
LINE_KEYS = {"line", "sku", "quantity", "unit_price", "amount", "currency", "return", "voided"}


pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


class Install:
    """A configuration file in a temporary folder, as an admin would write it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self.incoming.mkdir()
        self.mapping = root / "mappings" / "retail.yaml"
        self.mapping.parent.mkdir()
        self.mapping.write_text(MAPPING)
        self.data = root / "data"
        self.db_file = self.data / "brique.sqlite3"
        self.config = write_yaml(
            root / "brique.yaml",
            {
                "data_dir": "data",
                "mapping": "mappings/retail.yaml",
                "queue_prefix": "cli-test",
                "connections": {
                    "tills": {
                        "connector": "poslog",
                        "config": {"drop_folder": "incoming", "default_currency": "EUR"},
                    },
                    "webshop": {
                        "connector": "shopify",
                        "config": {
                            "shop_url": "https://brique-test.myshopify.com",
                            "access_token": "shpat_never_used",
                            "webhook_secret": "hook-secret",
                        },
                    },
                },
            },
        )

    def run(self, runner: CliRunner, *args: str) -> Any:
        return runner.invoke(app, [*args], catch_exceptions=False)

    def runtime(self, dispatcher: Any = None) -> Runtime:
        rt = Runtime(load_settings(self.config), dispatcher or NullDispatcher())
        if isinstance(dispatcher, InlineDispatcher):
            dispatcher.rt = rt
        return rt

    def broker_messages(self) -> list[dict[str, Any]]:
        folder = self.data / "broker" / "queue"
        messages = []
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            raw = json.loads(path.read_text())
            body = raw["body"]
            if raw["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body).decode()
            messages.append({"task": raw["headers"]["task"], "args": json.loads(body)[0]})
        return messages


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    inst = Install(tmp_path)
    # The CLI exports --config as $BRIQUE_CONFIG; monkeypatch restores it afterwards.
    monkeypatch.setenv("BRIQUE_CONFIG", str(inst.config))
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    monkeypatch.delenv("BRIQUE_BROKER_URL", raising=False)
    return inst


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- connectors ---------------------------------------------------------------------------


def check_connector_list(rows: list[dict[str, Any]]) -> None:
    by_name = {r["name"]: r for r in rows}
    assert {"poslog", "shopify"} <= set(by_name)
    poslog, shopify = by_name["poslog"], by_name["shopify"]
    assert poslog["kind"] == "pos" and shopify["kind"] == "shop"
    assert poslog["package"] == shopify["package"] == "brique"
    assert poslog["capabilities"] == [
        "file_drop", "http_push", "read_baskets", "read_sales", "write_baskets",
    ]  # fmt: skip
    assert shopify["capabilities"] == [
        "read_baskets", "read_orders", "read_stock", "webhooks", "write_baskets",
        "write_loyalty", "write_prices", "write_returns", "write_stock",
    ]  # fmt: skip
    for row in (poslog, shopify):
        assert re.fullmatch(r"\d+\.\d+\.\d+", row["version"])
        assert row["description"]


def test_connectors_list_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["connectors", "list", "--json"])
    assert result.exit_code == 0, result.output
    check_connector_list(json.loads(result.stdout))


def test_connectors_list_json_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "workers.cli", "connectors", "list", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr
    check_connector_list(json.loads(done.stdout))


def test_connectors_list_table(runner: CliRunner) -> None:
    result = runner.invoke(app, ["connectors", "list"])
    assert result.exit_code == 0
    assert "poslog" in result.stdout and "shopify" in result.stdout


def test_crashes_do_not_print_local_variables() -> None:
    assert app.pretty_exceptions_show_locals is False


# -- inspect ------------------------------------------------------------------------------


def test_inspect_prints_one_json_line_per_sale_and_writes_nothing(
    runner: CliRunner, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(install.root)
    before = sorted(p.relative_to(install.root) for p in install.root.rglob("*"))
    path = install.root / "tickets.xml"
    path.write_bytes(
        document(
            [
                transaction(
                    "1001",
                    1,
                    [Line("3600000000017", "2", price="19.90"), Line("JEANS", voided=True)],
                ),
                transaction("1001", 2, [Line("3600000000017", "1", returned=True)]),
                transaction("1002", 3, [Line("X", "1")], status="Canceled", currency="SEK"),
            ]
        )
    )
    result = runner.invoke(app, ["inspect", "--connector", "poslog", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    sales = json_lines(result.stdout)  # every stdout line is JSON: no log line in between
    assert [s["ticket"] for s in sales] == [
        "1001/01/2026-11-23/1",
        "1001/01/2026-11-23/2",
        "1002/01/2026-11-23/3",
    ]
    assert [s["status"] for s in sales] == ["completed", "completed", "cancelled"]
    for sale in sales:
        assert set(sale) == SALE_KEYS
        for line in sale["lines"]:
            assert LINE_KEYS <= set(line) <= LINE_KEYS | {"link"}
    first, second, third = sales
    assert first["lines"][0] == {
        "line": "1",
        "sku": "3600000000017",
        "quantity": "2",
        "unit_price": "19.90",
        "amount": "39.80",
        "currency": "EUR",
        "return": False,
        "voided": False,
    }
    assert first["lines"][1]["voided"] is True
    assert second["lines"][0]["return"] is True
    assert second["lines"][0]["quantity"] == "-1"
    assert third["currency"] == "SEK" and third["lines"][0]["currency"] == "SEK"
    # nothing written: no database, no data folder, the file stays where it was
    path.unlink()
    assert sorted(p.relative_to(install.root) for p in install.root.rglob("*")) == before
    assert not install.db_file.exists() and not install.data.exists()


def test_inspect_shows_return_links(runner: CliRunner) -> None:
    path = REPO / "tests" / "poslog" / "data" / "return-with-link.xml"
    result = runner.invoke(app, ["inspect", "--connector", "poslog", str(path)])
    assert result.exit_code == 0, result.output
    (sale,) = json_lines(result.stdout)
    (line,) = sale["lines"]
    assert line["return"] is True and line["quantity"].startswith("-")
    assert line["link"] == {
        "store": "S007",
        "workstation": "1",
        "business_day": "2024-02-20",
        "sequence": "4711",
        "line": "3",
    }


CORPUS_FILES = sorted((CORPUS / "poslog").glob("*.xml")) if (CORPUS / "poslog").is_dir() else []


def test_inspect_reads_the_real_corpus(runner: CliRunner) -> None:
    need(bool(CORPUS_FILES), f"the POSLog corpus is not at {CORPUS / 'poslog'}")
    seen_return = seen_cancelled = False
    for path in CORPUS_FILES:
        result = runner.invoke(app, ["inspect", "--connector", "poslog", str(path)])
        assert result.exit_code == 0, f"{path.name}: {result.output}"
        sales = json_lines(result.stdout)
        assert sales, f"{path.name} gave no sale"
        assert len({s["ticket"] for s in sales}) == len(sales)
        for sale in sales:
            assert set(sale) == SALE_KEYS
            assert re.fullmatch(r"[A-Z]{3}", sale["currency"])
            assert sale["lines"], f"{path.name} {sale['ticket']} has no line"
            for line in sale["lines"]:
                assert LINE_KEYS <= set(line)
                assert line["sku"] and line["currency"] == sale["currency"]
                if not line["voided"]:  # a void line may cancel an earlier one (NCR)
                    assert line["quantity"].startswith("-") == line["return"], line
            seen_return |= any(x["return"] for x in sale["lines"])
            seen_cancelled |= sale["status"] == "cancelled"
    names = {p.name for p in CORPUS_FILES}
    if "roqqio-v6-return.xml" in names:
        assert seen_return
    if "visma-v6-cancelled.xml" in names:
        assert seen_cancelled


def test_inspect_malformed_file_exits_1_with_file_and_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "broken.xml"
    path.write_bytes(
        b'<?xml version="1.0"?>\n<POSLog>\n  <Transaction>\n    <Oops>\n  </Transaction>\n'
    )
    result = runner.invoke(app, ["inspect", "--connector", "poslog", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    (message,) = result.stderr.strip().splitlines()  # one line, never re-wrapped
    assert message.startswith(f"{path}:5:")
    assert re.match(rf"{re.escape(str(path))}:5:\d+: \S", message)


def test_inspect_reports_bad_tickets_and_prints_the_good_ones(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.xml"
    bad = transaction("1001", 2, [Line("A")]).replace(">1</Quantity>", ">1,5</Quantity>")
    path.write_bytes(document([transaction("1001", 1, [Line("A")]), bad]))
    result = runner.invoke(app, ["inspect", "--connector", "poslog", str(path)])
    assert result.exit_code == 1
    assert [s["ticket"] for s in json_lines(result.stdout)] == ["1001/01/2026-11-23/1"]
    (rejected,) = json_lines(result.stderr)
    assert rejected["rejected"] == f"{path}:4"
    assert "'1,5' is not a decimal number" in rejected["error"]


def test_inspect_unknown_connector_or_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["inspect", "--connector", "nope", str(tmp_path / "x.xml")])
    assert result.exit_code == 2
    assert "no connector named 'nope'" in result.stderr
    result = runner.invoke(app, ["inspect", "--connector", "poslog", str(tmp_path / "x.xml")])
    assert result.exit_code == 1
    assert "No such file" in result.stderr


# -- db, status, dead letters -------------------------------------------------------------


def test_db_upgrade_creates_the_tables(runner: CliRunner, install: Install) -> None:
    assert not install.db_file.exists()
    result = install.run(runner, "db", "upgrade", "--config", str(install.config))
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stderr
    engine = create_engine(f"sqlite:///{install.db_file}")
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    again = install.run(runner, "db", "upgrade", "--config", str(install.config))
    assert again.exit_code == 0


def test_commands_on_a_database_behind_the_code_say_how_to_fix_it(
    runner: CliRunner, install: Install
) -> None:
    result = install.run(runner, "status", "--config", str(install.config))
    assert result.exit_code == 2
    assert "not up to date" in result.stderr and "brique db upgrade" in result.stderr
    install.run(runner, "db", "upgrade", "--config", str(install.config))
    assert install.run(runner, "status", "--config", str(install.config)).exit_code == 0


def test_broken_settings_exit_2_with_positions(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "brique.yaml"
    config.write_text("data_dir: var\nconnections:\n  tills:\n    conector: poslog\n")
    result = runner.invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "configuration error"
    assert f"{config}:3:3: connections.tills: missing required key 'connector'" in lines
    assert f"{config}:4:5: unknown key 'conector' (did you mean 'connector'?)" in lines


def test_status_with_a_broken_mapping_still_reports_and_names_the_problem(
    runner: CliRunner, install: Install
) -> None:
    install.run(runner, "db", "upgrade")
    drop_unmapped_ticket(install)  # the workers applied the good mapping to these
    rt = install.runtime()
    good = rt.mapping.plan.version
    rt.close()
    install.mapping.write_text("locatoins: []\n")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert f"{install.mapping}:1:1: unknown key 'locatoins'" in result.stderr
    assert f"workers keep the last good version ({good})" in " ".join(result.stderr.split())
    assert "tills" in result.stdout  # the counts are still there
    report = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert report["_mapping"]["status"] == "error"
    assert report["_mapping"]["last_applied"] == good


def drop_unmapped_ticket(install: Install) -> None:
    """A till in store 9999 (not in the mapping) sells: the sale becomes a dead letter."""
    (install.incoming / "t1.xml").write_bytes(ticket("9999", 1, [Line("3600000000017")]))
    (install.incoming / "t2.xml").write_bytes(ticket("1001", 5, [Line("3600000000017")]))
    dispatcher = InlineDispatcher()
    rt = install.runtime(dispatcher)
    rt.use("webshop", FakeShop(context=ConnectorContext("webshop")))  # no network
    try:
        result = ingest.poll(rt, "tills", "sales")
        assert len(result.accepted) == 2
    finally:
        rt.close()


def test_status_counts_per_connection(runner: CliRunner, install: Install) -> None:
    assert install.run(runner, "db", "upgrade").exit_code == 0
    drop_unmapped_ticket(install)
    result = install.run(runner, "status", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    mapping = report.pop("_mapping")
    assert mapping["status"] == "ok" and mapping["last_applied"] == mapping["version"]
    assert report.pop("_subscribers") == {}  # none configured
    assert set(report) == {"tills", "webshop"}
    tills, webshop = report["tills"], report["webshop"]
    assert tills["connector"] == "poslog" and webshop["connector"] == "shopify"
    assert tills["inbox"] == {"dead": 1, "done": 1}
    assert tills["dead_letters"] == 1 and tills["state"] == "ok"
    assert webshop["inbox"] == {} and webshop["dead_letters"] == 0
    assert webshop["outbox"] == {"sent": 1}  # the mapped sale was pushed to the shop
    assert webshop["stale_stock"] == 0
    table = install.run(runner, "status")
    assert table.exit_code == 0
    assert "tills" in table.stdout and "webshop" in table.stdout
    assert "dead 1" in table.stdout


def test_deadletters_list_then_replay_after_fixing_the_mapping(
    runner: CliRunner, install: Install
) -> None:
    install.run(runner, "db", "upgrade")
    drop_unmapped_ticket(install)
    listed = install.run(runner, "deadletters", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (dead,) = json.loads(listed.stdout)
    assert dead["connection"] == "tills" and dead["stage"] == "inbox"
    assert dead["record"] == "9999/01/2026-11-23/1"
    assert dead["actor"] == "data owner" and dead["status"] == "open"
    assert "9999" in dead["error"] and "locations" in dead["error"]
    table = install.run(runner, "deadletters", "list")
    assert "data owner" in table.stdout

    # The admin maps store 9999, then replays.
    install.mapping.write_text(MAPPING.replace('"1002"', '"9999"'))
    assert install.run(runner, "mapping", "validate", str(install.mapping)).exit_code == 0
    replayed = install.run(runner, "deadletters", "replay", str(dead["id"]))
    assert replayed.exit_code == 0, replayed.output
    assert f"#{dead['id']}: inbox row" in replayed.stdout and "re-queued" in replayed.stdout

    rt = install.runtime()
    try:
        with rt.sessions() as s:
            row = s.scalars(select(InboxRow).where(InboxRow.event_key == dead["record"])).one()
            assert row.status == "pending"
            assert s.get(DeadLetter, dead["id"]).status == "replayed"
        # The replay was sent to this installation's broker, carrying the inbox row id ...
        assert {"task": "brique.process_inbox", "args": [row.id]} in install.broker_messages()
        # ... and a worker taking it applies the sale with the fixed mapping.
        for message in install.broker_messages():
            if message["task"] == "brique.process_inbox":
                apply.process_inbox(rt, *message["args"])
        with rt.sessions() as s:
            assert s.get(InboxRow, row.id).status == "done"
            moves = s.scalars(
                select(StockMovementRow).where(StockMovementRow.source_ref == dead["record"])
            ).all()
            assert [(m.sku, m.location, m.delta_e4) for m in moves] == [
                ("TSHIRT-RED-M", "LYON-02", -10000)
            ]
    finally:
        rt.close()

    assert json.loads(install.run(runner, "deadletters", "list", "--json").stdout) == []
    everything = json.loads(install.run(runner, "deadletters", "list", "--all", "--json").stdout)
    assert [d["status"] for d in everything] == ["replayed"]
    again = install.run(runner, "deadletters", "replay", str(dead["id"]))
    assert "already replayed" in again.stdout
    missing = install.run(runner, "deadletters", "replay", "999")
    assert missing.exit_code == 1
    assert "no dead letter #999" in missing.stderr


# -- mapping, stock -----------------------------------------------------------------------


def test_mapping_validate(runner: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MAPPING)
    result = runner.invoke(app, ["mapping", "validate", str(good)])
    assert result.exit_code == 0, result.output
    assert f"{good}: ok (version " in result.stdout

    bad = tmp_path / "a-rather-long-folder-name-so-lines-exceed-eighty-columns" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(
        "version: 1\n"
        "locatoins: []\n"
        "locations:\n"
        "  - code: PARIS-01\n"
        "    ids: {tills: 1001}\n"
        "  - code: PARIS-01\n"
    )
    result = runner.invoke(app, ["mapping", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{good}: ok" in result.stdout
    assert result.stderr.splitlines() == [
        f"{bad}:2:1: unknown key 'locatoins' (did you mean 'locations'?)",
        f"{bad}:5:18: locations.0.ids.tills: identifiers must be strings, got int 1001; "
        "quote it (e.g. '1001') so leading zeros survive (got 1001)",
    ]
    for line in result.stderr.splitlines():
        assert re.match(rf"{re.escape(str(bad))}:\d+:\d+: ", line)

    dup = tmp_path / "dup.yaml"
    dup.write_text("locations:\n  - code: A\n  - code: A\n")
    result = runner.invoke(app, ["mapping", "validate", str(dup)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{dup}:3:11: locations.1.code: location code 'A' appears twice (first as locations item 1)"
    )


def test_stock_import(runner: CliRunner, install: Install) -> None:
    install.run(runner, "db", "upgrade")
    csv = install.root / "count.csv"
    csv.write_text("sku,location,quantity\nTSHIRT-RED-M,PARIS-01,20\nTSHIRT-RED-L,PARIS-01,3.5\n")
    result = install.run(runner, "stock", "import", str(csv))
    assert result.exit_code == 0, result.output
    assert "2 count movement(s) written" in result.stdout
    again = install.run(runner, "stock", "import", str(csv))
    assert "0 count movement(s) written" in again.stdout
    rt = install.runtime()
    try:
        with rt.sessions() as s:
            moves = s.execute(
                select(StockMovementRow.sku, StockMovementRow.delta_e4, StockMovementRow.reason)
            ).all()
    finally:
        rt.close()
    assert sorted(moves) == [("TSHIRT-RED-L", 35000, "count"), ("TSHIRT-RED-M", 200000, "count")]
    # the shop publishing PARIS-01 is asked to push, through this installation's broker
    assert {"task": "brique.push_stock", "args": ["webshop"]} in install.broker_messages()

    bad = install.root / "bad.csv"
    bad.write_text("sku,location,quantity\nA,PARIS-01,12\nB,PARIS-01,twelve\n")
    result = install.run(runner, "stock", "import", str(bad))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{bad}:3: quantity 'twelve' is not a number"
    wrong = install.root / "wrong.csv"
    wrong.write_text("sku;location;quantity\nA;PARIS-01;1\n")
    result = install.run(runner, "stock", "import", str(wrong))
    assert result.exit_code == 1
    assert f"{wrong}:1: missing column(s)" in result.stderr


def test_ingest_feeds_a_file_once(runner: CliRunner, install: Install) -> None:
    install.run(runner, "db", "upgrade")
    path = install.root / "archive.xml"
    path.write_bytes(document([transaction("1001", n, [Line("3600000000017")]) for n in (1, 2)]))
    args = ("ingest", str(path), "--connection", "tills")
    first = install.run(runner, *args)
    assert first.exit_code == 0, first.output
    assert "2 new, 0 already received, 0 rejected" in first.stdout
    assert "0 new, 2 already received" in install.run(runner, *args).stdout
    tasks = [m for m in install.broker_messages() if m["task"] == "brique.process_inbox"]
    assert len(tasks) == 2
    assert install.run(runner, "ingest", "nope.xml", "--connection", "tills").exit_code == 1


def test_the_readme_table_of_connectors_is_what_is_installed(runner: CliRunner) -> None:
    """The table is generated by ``brique connectors list --markdown``; it cannot drift."""
    result = runner.invoke(app, ["connectors", "list", "--markdown"])
    assert result.exit_code == 0, result.output
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    begin, end = "<!-- connectors:begin -->\n", "<!-- connectors:end -->"
    block = readme[readme.index(begin) + len(begin) : readme.index(end)]
    assert block == result.stdout, (
        "README's connectors table is stale: paste `brique connectors list --markdown`"
    )


def test_inspect_reads_a_file_with_a_connections_settings(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A till's CSV export with its own column names, read as the configured connection."""
    export = tmp_path / "export.csv"
    export.write_text("Magasin;Ticket;Article;Qte\n1001;7;0360000000017;2\n")
    config = tmp_path / "brique.yaml"
    config.write_text(
        "connections:\n"
        "  tills:\n"
        "    connector: csv\n"
        "    config:\n"
        f"      drop_folder: {tmp_path}\n"
        '      delimiter: ";"\n'
        "      default_currency: EUR\n"
        "      columns: {store: Magasin, ticket: Ticket, sku: Article, quantity: Qte}\n"
    )
    result = runner.invoke(
        app, ["inspect", str(export), "--connection", "tills", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["store"] == "1001"
    assert [(x["sku"], x["quantity"]) for x in line["lines"]] == [("0360000000017", "2")]
    both = runner.invoke(app, ["inspect", str(export)])
    assert both.exit_code == 2 and "either --connector NAME or --connection NAME" in both.stderr
