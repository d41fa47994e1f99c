"""``brique mapping``: validate, schema, preview and diff, as an admin runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support import REPO, write_yaml
from workers.cli import app

DEMO_CONFIG = REPO / "config" / "demo.yaml"
DEMO_MAPPING = REPO / "mappings" / "demo.yaml"
TICKETS = REPO / "config" / "demo" / "tickets"
SALE = TICKETS / "0001-sale.xml"
PARIS = "gid://shopify/Location/1001"

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # --config is exported as $BRIQUE_CONFIG; monkeypatch puts the old value back
    monkeypatch.delenv("BRIQUE_CONFIG", raising=False)


def brique(*args: Any) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def tickets() -> list[str]:
    return [arg for path in sorted(TICKETS.glob("*.xml")) for arg in ("--input", str(path))]


# -- validate -----------------------------------------------------------------------------------


def test_validate_defaults_to_the_mapping_of_the_settings(tmp_path: Path) -> None:
    result = brique("mapping", "validate", "--config", DEMO_CONFIG)
    assert result.exit_code == 0, result.output
    assert f"{DEMO_MAPPING}: ok (version " in result.stdout

    mapping = tmp_path / "broken.yaml"
    mapping.write_text("version: 1\nlocations:\n  - code: A\n    ids: {tills: 1}\nskuz: {}\n")
    config = write_yaml(tmp_path / "brique.yaml", {"mapping": "broken.yaml"})
    result = brique("mapping", "validate", "-c", config)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{mapping}:4:18: locations.0.ids.tills: identifiers must be strings, got int 1; "
        "quote it (e.g. '1') so leading zeros survive (got 1)",
        f"{mapping}:5:1: unknown key 'skuz' (did you mean 'skus'?)",
    ]

    bare = write_yaml(tmp_path / "bare.yaml", {"data_dir": "var"})
    result = brique("mapping", "validate", "--config", bare)
    assert result.exit_code == 2
    assert "no mapping is configured" in result.stderr


def test_validate_files_given_ignore_the_settings(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = brique("mapping", "validate", DEMO_MAPPING, missing, "--config", tmp_path / "no.yaml")
    assert result.exit_code == 1
    assert f"{DEMO_MAPPING}: ok" in result.stdout
    assert re.fullmatch(rf"{re.escape(str(missing))}:1:1: cannot read: .*\n", result.stderr)


# -- schema -------------------------------------------------------------------------------------


def test_schema_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    result = brique("mapping", "schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "round" in json.dumps(schema["$defs"]["ApplyItem"])
    target = tmp_path / "mapping.schema.json"
    result = brique("mapping", "schema", "--output", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert f"wrote {target}" in result.stderr
    assert json.loads(target.read_text()) == schema


# -- preview ------------------------------------------------------------------------------------


def test_preview_json_one_object_per_record() -> None:
    result = brique(
        "mapping", "preview", "--connection", "tills", "--input", SALE, "-c", DEMO_CONFIG, "--json"
    )
    assert result.exit_code == 0, result.output
    (record,) = json_lines(result.stdout)
    assert set(record) == {"key", "source", "native", "canonical", "outbound", "error", "notes"}
    assert record["key"] == "1001/01/2026-11-23/1" and record["error"] is None
    assert record["native"]["lines"][0]["sku"] == "3600000000017"
    assert record["canonical"]["lines"][0]["sku"] == "TSHIRT-RED-M"
    assert record["outbound"]["webshop"][0] == {
        "sku": "TSHIRT-RED-M",
        "location": "PARIS-01",
        "target": PARIS,
        "delta": "-2",
    }


def test_preview_table_side_by_side() -> None:
    result = brique(
        "mapping", "preview", "--connection", "tills", "--input", SALE, "-c", DEMO_CONFIG
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "1001/01/2026-11-23/1" in out
    header = next(line for line in out.splitlines() if "native" in line)
    assert "canonical" in header and "outbound" in header
    assert "3600000000017" in out and "TSHIRT-RED-M" in out
    cells = [line.split("│") for line in out.splitlines() if line.count("│") == 4]
    outbound = "".join(cell[3].strip() for cell in cells)
    assert PARIS in outbound  # long ids fold inside their cell, never cut short
    assert "1 record(s), 0 with an error" in out


def test_preview_of_a_price_list_with_another_mapping(tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("sku,price,list\nTSHIRT-RED-M,19.50,web\nJEANS-BLUE-32,oops,web\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(DEMO_MAPPING.read_text().replace('ending: "0.99"', 'ending: "0.95"'))
    args = ["mapping", "preview", "--connection", "tills", "--input", prices, "-c", DEMO_CONFIG]
    result = brique(*args, "--mapping", mapping, "--json")
    assert result.exit_code == 1  # a record has an error
    good, bad = json_lines(result.stdout)
    assert good["outbound"]["webshop"]["price"] == "19.95"
    assert good["outbound"]["webshop"]["fields"] == {"price": "19.95", "compareAtPrice": None}
    assert bad["error"] == f"{prices}:3: price 'oops' is not a number"
    table = brique(*args)
    assert table.exit_code == 1
    assert "19.99" in table.stdout  # the settings' mapping
    assert f"JEANS-BLUE-32@web: {prices}:3: price 'oops' is not a number" in table.stderr
    assert "2 record(s), 1 with an error" in table.stdout


def test_preview_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    base = ["mapping", "preview", "-c", DEMO_CONFIG, "--input"]
    unknown = brique(*base, SALE, "--connection", "tils")
    assert unknown.exit_code == 2
    assert "unknown connection 'tils' (configured: tills, webshop)" in unknown.stderr
    missing = brique(*base, tmp_path / "nope.xml", "--connection", "tills")
    assert missing.exit_code == 2 and "nope.xml" in missing.stderr
    shop = brique(*base, SALE, "--connection", "webshop")
    assert shop.exit_code == 2 and "does not read documents" in shop.stderr
    nothing = brique("mapping", "preview", "-c", DEMO_CONFIG, "--connection", "tills")
    assert nothing.exit_code == 2 and "give at least one input" in nothing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("locatoins: []\n")
    broken = brique(*base, SALE, "--connection", "tills", "--mapping", bad)
    assert broken.exit_code == 2
    assert f"{bad}:1:1: unknown key 'locatoins'" in broken.stderr


# -- diff ---------------------------------------------------------------------------------------


@pytest.fixture
def moved(tmp_path: Path) -> Path:
    """The demo mapping with Paris published to another Shopify location."""
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO_MAPPING.read_text().replace(PARIS, "gid://shopify/Location/9"))
    return path


def test_diff_lists_the_changed_paths_and_a_summary(moved: Path) -> None:
    # as a shell expands `--input config/demo/tickets/*.xml`
    files = sorted(TICKETS.glob("*.xml"))
    result = brique(
        "mapping", "diff", DEMO_MAPPING, moved, "--connection", "tills", "-c", DEMO_CONFIG,
        "--input", *files,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert brique(
        "mapping", "diff", DEMO_MAPPING, moved, "--connection", "tills", "-c", DEMO_CONFIG,
        *tickets(),
    ).stdout == result.stdout  # fmt: skip
    change = '"gid://shopify/Location/1001" -> "gid://shopify/Location/9"'
    assert result.stdout.splitlines() == [
        f"1001/01/2026-11-23/1 ({TICKETS / '0001-sale.xml'})",
        f"  outbound.webshop[0].target: {change}",
        f"  outbound.webshop[1].target: {change}",
        f"1001/01/2026-11-23/2 ({TICKETS / '0002-sale-with-voided-line.xml'})",
        f"  outbound.webshop[0].target: {change}",
        f"1001/01/2026-11-23/3 ({TICKETS / '0003-return.xml'})",
        f"  outbound.webshop[0].target: {change}",
        "3 of 4 records change",
    ]


def test_diff_exit_code_and_json(moved: Path, tmp_path: Path) -> None:
    base = ["mapping", "diff", "--connection", "tills", "--input", SALE, "-c", DEMO_CONFIG]
    changed = brique(*base, DEMO_MAPPING, moved, "--exit-code", "--json")
    assert changed.exit_code == 1
    (record,) = json_lines(changed.stdout)
    assert record == {
        "key": "1001/01/2026-11-23/1",
        "source": str(SALE),
        "changes": [
            {
                "path": f"outbound.webshop[{i}].target",
                "old": PARIS,
                "new": "gid://shopify/Location/9",
            }
            for i in (0, 1)
        ],
    }
    assert "1 of 1 records changes" in changed.stderr
    same = brique(*base, DEMO_MAPPING, DEMO_MAPPING, "--exit-code")
    assert same.exit_code == 0
    assert same.stdout.splitlines() == ["0 of 1 records change"]
    # a store no longer mapped: the error appears, the deltas go
    unmapped = tmp_path / "unmapped.yaml"
    unmapped.write_text(DEMO_MAPPING.read_text().replace('tills: "1001"', 'tills: "1009"'))
    gone = brique(*base, DEMO_MAPPING, unmapped, "--json")
    assert gone.exit_code == 0
    (record,) = json_lines(gone.stdout)
    paths = [c["path"] for c in record["changes"]]
    assert paths == ["outbound.webshop", "error"]  # nothing is sent
    assert "'1001' is not mapped" in record["changes"][1]["new"]


def test_diff_of_an_invalid_mapping_exits_2_with_every_problem(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("version: 1\nlocatoins: []\n")
    new = tmp_path / "new.yaml"
    new.write_text("version: 2\n")
    result = brique(
        "mapping", "diff", old, new, "--connection", "tills", "--input", SALE, "-c", DEMO_CONFIG
    )
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"{old}:2:1: unknown key 'locatoins' (did you mean 'locations'?)"
    assert lines[1].startswith(f"{new}:1:10: version: ")
    assert result.stdout == ""
