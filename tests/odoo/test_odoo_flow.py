"""Odoo through Brique's real use-cases (SQLite, inline dispatcher) with the default mapping:
a sale and its refund polled from pos.order move the ledger once, an order posted later by
the session closing changes nothing, and a till the mapping does not know is a dead letter."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.connector import ConnectorContext
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.store.tables import DeadLetter, SaleRow, StockMovementRow
from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from bridge.sync.stock_import import import_counts
from connectors.odoo import OdooConnector
from tests.fakes import FakeShop, InlineDispatcher
from tests.odoo.odoo_fake import FakeOdoo, settings

REPO = Path(__file__).resolve().parents[2]
WEB = "gid://shopify/Location/1"


@pytest.fixture
def world(tmp_path: Path, odoo: FakeOdoo) -> Iterator[tuple[Runtime, FakeShop]]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text((REPO / "mappings" / "defaults" / "odoo-shopify.yaml").read_text())
    database_url = f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    config = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="odoo"),
            "webshop": ConnectionSettings(connector="shopify"),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(config, dispatcher)
    dispatcher.rt = rt
    shop = FakeShop()
    rt.use("webshop", shop)
    rt.use("tills", OdooConnector(settings(), ConnectorContext("tills")))
    yield rt, shop
    rt.close()


def test_sales_and_refunds_move_stock_once(world, odoo: FakeOdoo) -> None:
    rt, shop = world
    counts = rt.settings.data_dir / "counts.csv"
    counts.write_text("sku,location,quantity\nFURN_0269,STORE-01,10\nSTICKY-Y,STORE-01,5\n")
    import_counts(rt, counts)

    first = ingest.poll(rt, "tills", "orders")
    assert len(first.accepted) == 4
    with rt.sessions() as s:
        moves = sorted(
            (m.sku, m.reason, m.delta_e4)
            for m in s.scalars(select(StockMovementRow).where(StockMovementRow.reason != "count"))
        )
        tickets = sorted(s.scalars(select(SaleRow.ticket_key)))
        dead = [d.error for d in s.scalars(select(DeadLetter))]
    assert moves == [
        ("FURN_0269", "return", 10000),
        ("FURN_0269", "sale", -20000),
        ("STICKY-P", "sale", -10000),
        ("STICKY-Y", "sale", -10000),
        ("product:32", "sale", -10000),
    ]
    assert tickets == [
        "1/tx/Order 00012-001-0001#101",
        "1/tx/Order 00012-001-0002#102",
        "1/tx/Order 00013-001-0001#103",
    ]
    assert len(dead) == 1 and "location '2' is not mapped" in dead[0]  # the Bar till
    assert shop.levels[("FURN_0269", WEB)] == Decimal(9)
    assert shop.levels[("STICKY-Y", WEB)] == Decimal(4)

    # The session closing posts the orders (state done, new write_date): same keys, nothing new.
    odoo.touch(102, "2024-03-08 18:00:00")
    odoo.tables["pos.order"][102]["state"] = "done"
    again = ingest.poll(rt, "tills", "orders")
    assert not again.accepted and again.duplicates == 1
    with rt.sessions() as s:
        assert len(s.scalars(select(StockMovementRow)).all()) == 7
