"""Square through Brique's real use-cases (SQLite, inline dispatcher): a sale and its return
polled from SearchOrders move the ledger once, the web shop and Square get the new counts,
and the same order arriving again by poll or webhook changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.connector import ConnectorContext, WebhookRequest
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.store.tables import SaleRow, StockMovementRow
from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from bridge.sync.stock_import import import_counts
from connectors.square import SquareConnector
from tests.fakes import FakeShop, InlineDispatcher
from tests.square.square_fake import (
    ITEM_COFFEE,
    ITEM_SHIRT,
    LOC_NY,
    FakeSquare,
    load,
    settings,
    sign,
)

WEB_NY = "gid://shopify/Location/1"
MAPPING = f"""\
version: 1
locations:
  - code: NY-01
    ids: {{tills: "{LOC_NY}", webshop: "{WEB_NY}"}}
"""


@pytest.fixture
def world(tmp_path: Path, square: FakeSquare) -> Iterator[tuple[Runtime, FakeShop]]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    database_url = f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    config = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="square"),
            "webshop": ConnectionSettings(connector="shopify"),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(config, dispatcher)
    dispatcher.rt = rt
    shop = FakeShop()
    rt.use("webshop", shop)
    rt.use("tills", SquareConnector(settings(), ConnectorContext("tills")))
    yield rt, shop
    rt.close()


def count(rt: Runtime, sku: str, quantity: str) -> None:
    path = rt.settings.data_dir / f"count-{sku}.csv"
    path.write_text(f"sku,location,quantity\n{sku},NY-01,{quantity}\n")
    import_counts(rt, path)


def test_sale_and_return_move_stock_once_everywhere(world, square: FakeSquare) -> None:
    rt, shop = world
    count(rt, "LINEN-L-SAND", "20")
    count(rt, "COFFEE-HOUSE-LB", "10")
    # Square is a stock sink too: the counted quantities went to its location.
    assert square.counts[(ITEM_SHIRT, LOC_NY)] == Decimal(20)
    square.add_order(load("order_card_cash.json"))
    square.add_order(load("order_return.json"))

    first = ingest.poll(rt, "tills", "orders")
    assert len(first.accepted) == 2

    with rt.sessions() as s:
        moves = sorted(
            (m.sku, m.reason, m.delta_e4)
            for m in s.scalars(select(StockMovementRow).where(StockMovementRow.reason != "count"))
        )
        tickets = sorted(s.scalars(select(SaleRow.ticket_key)))
    assert moves == [
        ("COFFEE-HOUSE-LB", "sale", -4550),
        ("LINEN-L-SAND", "return", 10000),
        ("LINEN-L-SAND", "sale", -20000),
    ]
    assert tickets == [
        f"{LOC_NY}/tx/1XfwPNBBg6nHnsxDsg79Tm2Yhk4F",
        f"{LOC_NY}/tx/CAISENgvlJ6jLWAzERDzjyHVybY",
    ]
    assert shop.levels[("LINEN-L-SAND", WEB_NY)] == Decimal(19)
    assert shop.levels[("COFFEE-HOUSE-LB", WEB_NY)] == Decimal("9.545")
    assert square.counts[(ITEM_SHIRT, LOC_NY)] == Decimal(19)
    assert square.counts[(ITEM_COFFEE, LOC_NY)] == Decimal("9.545")

    # The next poll re-reads nothing new; the same sale by webhook is a new inbox row whose
    # ticket and line movements already exist.
    writes = (len(shop.calls), square.applied)
    again = ingest.poll(rt, "tills", "orders")
    assert not again.accepted
    body = json.dumps(load("webhook_order_updated.json")).encode()
    hook = ingest.receive_webhook(
        rt,
        "tills",
        WebhookRequest(headers={"x-square-hmacsha256-signature": sign(body)}, body=body),
    )
    assert len(hook.accepted) == 1
    with rt.sessions() as s:
        assert len(s.scalars(select(StockMovementRow)).all()) == 5
    assert (len(shop.calls), square.applied) == writes
