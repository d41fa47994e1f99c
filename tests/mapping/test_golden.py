"""Golden files: one folder per mapping feature, records in, expected results out.

Each folder of ``tests/mapping/golden/`` holds:

- ``mapping.yaml``: a mapping using the feature (and any CSV file it reads, next to it);
- ``input.json``: a list of records, each describing one call of the plan's API (numbers
  with a fraction are read as ``Decimal``, never as floats);
- ``expected.json``: the list of results, one per record, in the same order. Decimals are
  written as strings (``"19.99"``), date-times in ISO 8601, a ``ChannelPrice`` as an
  object; a record the mapping refuses gives ``{"error": "<the DataError message>"}``.

The folder name chooses the runner below (``RUNNERS``), i.e. the plan API exercised.

To accept new results after a deliberate change, rewrite the expected files and review
the diff before committing it::

    BRIQUE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/mapping/test_golden.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import DataError
from bridge.mapping.loader import load_plan
from bridge.mapping.plan import MappingPlan

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("BRIQUE_UPDATE_GOLDEN") == "1"

Runner = Callable[[MappingPlan, dict[str, Any]], Any]


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def run_crosswalk(plan: MappingPlan, record: dict[str, Any]) -> Any:
    if record["op"] == "sku_in":
        return plan.sku_in(record["connection"], record["id"])
    return plan.sku_out(record["connection"], record["id"])


def run_stock(plan: MappingPlan, record: dict[str, Any]) -> Any:
    op = record["op"]
    if op == "available":
        return plan.stock.available(
            record["sku"], record["location"], _d(record["on_hand"]), _d(record["reserved"])
        )
    if op == "pooled":
        parts = {
            loc: (_d(on_hand), _d(reserved)) for loc, (on_hand, reserved) in record["parts"].items()
        }
        return plan.stock.pooled(record["sku"], record["pool"], parts)
    if op == "members":
        return list(plan.stock.members(record["location"]))
    return plan.stock.pools_of(record["location"])


def run_prices(plan: MappingPlan, record: dict[str, Any]) -> Any:
    prices = {name: _d(amount) for name, amount in record["prices"].items()}
    if "store" in record:
        found = plan.prices.store_price(record["store"], record["sku"], prices)
        return None if found is None else {"price_list": found[0], "price": found[1]}
    return plan.channel_price(record["connection"], record["sku"], prices)


def run_outbound(plan: MappingPlan, record: dict[str, Any]) -> Any:
    return plan.outbound(
        record["connection"], record["kind"], record["record"], created=record.get("created", False)
    )


def run_inbound(plan: MappingPlan, record: dict[str, Any]) -> Any:
    return plan.inbound(record["connection"], record["kind"], record["payload"])


def run_codes(plan: MappingPlan, record: dict[str, Any]) -> Any:
    if record["op"] == "tender":
        return plan.tender_in(record["connection"], record["code"])
    return plan.unit_in(record["connection"], record["code"])


RUNNERS: dict[str, Runner] = {
    "crosswalk_csv": run_crosswalk,
    "stock_rules": run_stock,
    "prices_channels": run_prices,
    "field_rules_outbound": run_outbound,
    "field_rules_inbound": run_inbound,
    "tenders_units": run_codes,
    "functions": run_outbound,
}


def jsonable(value: Any) -> Any:
    """Results as JSON: exact Decimal strings, ISO 8601 date-times, records as objects."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple
        return jsonable(value._asdict())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"no golden form for {type(value).__name__}: {value!r}")


def results(feature: Path) -> list[Any]:
    plan = load_plan(feature / "mapping.yaml")
    records = json.loads((feature / "input.json").read_text(), parse_float=Decimal)
    assert isinstance(records, list) and records, f"{feature}/input.json: a list of records"
    runner = RUNNERS[feature.name]
    out = []
    for record in records:
        try:
            out.append(jsonable(runner(plan, record)))
        except DataError as exc:
            out.append({"error": str(exc)})
    return out


FEATURES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def test_every_feature_folder_has_a_runner_and_back() -> None:
    assert FEATURES == sorted(RUNNERS)


@pytest.mark.parametrize("name", FEATURES)
def test_golden(name: str) -> None:
    feature = GOLDEN / name
    got = results(feature)
    expected_file = feature / "expected.json"
    if UPDATE:
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert expected_file.exists(), f"run with BRIQUE_UPDATE_GOLDEN=1 to create {expected_file}"
    expected = json.loads(expected_file.read_text())
    assert len(got) == len(expected), f"{name}: {len(got)} results, {len(expected)} expected"
    for index, (result, wanted) in enumerate(zip(got, expected, strict=True)):
        assert result == wanted, f"{name}: record {index + 1} of input.json"


def test_the_same_folder_gives_the_same_version_and_a_csv_change_a_new_one(
    tmp_path: Path,
) -> None:
    """A CSV table is part of the mapping: editing it changes the plan's version."""
    source = GOLDEN / "crosswalk_csv"
    for path in source.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    first = load_plan(tmp_path / "mapping.yaml")
    assert load_plan(source / "mapping.yaml").version == first.version
    with (tmp_path / "items.csv").open("a") as handle:
        handle.write("0360000000055,SOCKS-BLUE-M,Socks blue\n")
    second = load_plan(tmp_path / "mapping.yaml")
    assert second.sku_in("tills", "0360000000055") == "SOCKS-BLUE-M"
    assert second.version != first.version


# -- findings about field rules, outside the golden files ----------------------------------


def _plan(tmp_path: Path, text: str) -> MappingPlan:
    path = tmp_path / "mapping.yaml"
    path.write_text(textwrap.dedent(text))
    return load_plan(path)


def test_inbound_lines_are_overlaid_by_key_not_by_position(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        """\
        connections:
          tills:
            sale:
              inbound:
                lines:
                  lines:
                    each: "lines[?status != 'void']"
                    key: line_no
                    fields:
                      quantity: {from: qty, apply: [decimal]}
        """,
    )
    payload = {
        "lines": [
            {"line_no": 1, "qty": "5", "status": "void"},
            {"line_no": 2, "qty": "7"},
        ]
    }
    assert plan.inbound("tills", "sale", payload)["lines"] == [
        {"line_no": 1, "qty": "5", "status": "void"},
        {"line_no": 2, "qty": "7", "quantity": Decimal(7)},
    ]


def test_inbound_lines_from_another_list_never_crash(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        """\
        connections:
          tills:
            sale:
              inbound:
                lines:
                  lines:
                    each: items
                    key: line_no
                    fields:
                      quantity: {from: qty, apply: [decimal]}
        """,
    )
    payload = {"items": [{"line_no": 1, "qty": "5"}], "lines": []}
    try:
        plan.inbound("tills", "sale", payload)  # overlaid by key (a new line) ...
    except DataError:
        pass  # ... or refused with a message; an IndexError is the bug


def test_jmespath_function_errors_are_data_errors(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        """\
        connections:
          webshop:
            order:
              outbound:
                key: number
                fields:
                  total: {from: "sum(lines[].amount)", apply: [string]}
        """,
    )
    record = {"number": "1001", "lines": [{"amount": Decimal("1.50")}, {"amount": Decimal(2)}]}
    with pytest.raises(DataError) as info:
        plan.outbound("webshop", "order", record)
    assert str(info.value).startswith(
        "mapping webshop order outbound record '1001' field 'total': "
    )


def test_a_bad_line_value_names_the_line_and_the_field(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        """\
        connections:
          webshop:
            order:
              outbound:
                key: number
                lines:
                  lineItems:
                    each: lines
                    key: line_no
                    fields:
                      quantity: {from: qty, apply: [integer]}
        """,
    )
    record = {"number": "1004", "lines": [{"line_no": 1, "qty": "1"}, {"line_no": 2, "qty": "1.5"}]}
    with pytest.raises(DataError) as info:
        plan.outbound("webshop", "order", record)
    assert str(info.value) == (
        "mapping webshop order outbound record '1004': line 2 (key '2') field "
        "'lineItems.quantity': integer: not a whole number: '1.5'"
    )
