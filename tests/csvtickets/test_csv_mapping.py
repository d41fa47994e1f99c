"""A till's quirks fixed in the mapping file: inbound field rules overlay the native ticket
before ``decode``, exactly as ``process_inbox`` runs them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.connector import InboundEvent
from bridge.errors import DataError
from bridge.mapping.loader import load_plan
from bridge.model import SaleBody, SaleStatus
from bridge.store.tables import DeadLetter, SaleRow, StockMovementRow
from bridge.sync import ingest
from tests.csvtickets.support import events, make, parse, put
from tests.test_sync import make_world

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}
tables:
  legacy_codes:
    inline: {OLD-1: TSHIRT-RED-M, OLD-2: MUG-WHITE}
connections:
  tills:
    sale:
      inbound:
        key: ticket
        fields:
          status: {from: status, apply: [{map: {values: {V: completed, A: cancelled}}}]}
        lines:
          lines:
            each: lines
            key: line
            fields:
              sku: {from: sku, apply: [strip, {lookup: {table: legacy_codes}}]}
"""


@pytest.fixture
def plan(tmp_path: Path):
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING)
    return load_plan(path)


def test_inbound_rules_then_decode_give_the_corrected_sale(plan) -> None:
    conn = make(default_currency="EUR")
    sold, cancelled = events(parse(conn, "legacy-codes.csv"))
    assert [line["sku"] for line in sold.payload["lines"]] == ["OLD-1", "OLD-2"]

    mapped = plan.inbound("tills", sold.kind, sold.payload)
    (body,) = conn.decode(InboundEvent(sold.key, sold.kind, mapped, sold.occurred_at))
    assert isinstance(body, SaleBody)
    sale = body.sale
    assert [(li.line_no, li.sku, li.quantity) for li in sale.lines] == [
        ("1", "TSHIRT-RED-M", Decimal(1)),
        ("2", "MUG-WHITE", Decimal(2)),
    ]
    assert sale.status is SaleStatus.COMPLETED
    assert sale.key.as_string() == sold.key == "1001/-/-/9"
    assert sold.payload["lines"][0]["sku"] == "OLD-1", "the stored native payload is untouched"
    assert mapped["lines"][0]["row"] == 2, "fields without rules are kept"

    (body,) = conn.decode(
        InboundEvent(cancelled.key, "sale", plan.inbound("tills", "sale", cancelled.payload))
    )
    assert body.sale.status is SaleStatus.CANCELLED and body.sale.stock_lines() == ()

    # Without the rules, the same events decode to the till's own codes.
    (raw,) = conn.decode(sold)
    assert [li.sku for li in raw.sale.lines] == ["OLD-1", "OLD-2"]
    assert raw.sale.status is SaleStatus.OTHER  # "V" means nothing to Brique by itself


def test_an_unknown_legacy_code_is_a_data_error_naming_the_line(plan) -> None:
    conn = make(default_currency="EUR")
    sold = events(parse(conn, "legacy-codes.csv"))[0]
    payload = {**sold.payload, "lines": [dict(line) for line in sold.payload["lines"]]}
    payload["lines"][1]["sku"] = "OLD-3"
    with pytest.raises(DataError, match=r"line 2 \(key '2'\) field 'lines.sku'.*'OLD-3'"):
        plan.inbound("tills", "sale", payload)


def test_the_workers_apply_the_rules_between_the_inbox_and_the_ledger(
    tmp_path: Path, drop: Path
) -> None:
    """End to end: drop folder -> inbox -> ``process_inbox`` (rules, decode) -> ledger."""
    rt, _, _, _ = make_world(tmp_path, f"sqlite:///{tmp_path / 'brique.sqlite3'}", MAPPING)
    try:
        rt.use("tills", make(drop_folder=drop, default_currency="EUR"))
        put(drop, "legacy-codes.csv")
        put(drop, "bad-rows.csv")  # OLD codes absent: tickets of store 1001 with SKUs A..E
        ingest.poll(rt, "tills", "sales")
        with rt.sessions() as s:
            moves = s.scalars(
                select(StockMovementRow).order_by(StockMovementRow.movement_key)
            ).all()
            sales = {row.ticket_key: row.status for row in s.scalars(select(SaleRow))}
            dead = s.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
        assert [(m.movement_key, m.sku, m.delta_e4) for m in moves] == [
            ("tills:1001/-/-/9:1", "TSHIRT-RED-M", -10000),
            ("tills:1001/-/-/9:2", "MUG-WHITE", -20000),
        ]
        assert sales == {"1001/-/-/9": "completed", "1001/-/-/10": "cancelled"}
        # bad-rows.csv: two tickets rejected by the reader, two whose SKUs the lookup lacks.
        assert sorted(d.stage for d in dead) == ["inbox", "inbox", "ingest", "ingest"]
        assert {d.record for d in dead if d.stage == "ingest"} == {
            "bad-rows.csv:3",
            "bad-rows.csv:4",
        }
        assert all("is not in table 'legacy_codes'" in d.error for d in dead if d.stage == "inbox")
    finally:
        rt.close()
