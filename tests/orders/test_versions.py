"""A web order's versions in the sales journal, and the journal export of the latest one.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from bridge.journal.export import JournalQuery, records
from bridge.model import content_hash
from bridge.orders.journal import versions
from bridge.orders.tables import SaleVersionRow
from bridge.store import db
from bridge.store.tables import SaleRow
from tests.orders.support import LYON, PARIS, SKU, World, make_world


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    world = make_world(tmp_path, database_url)
    world.count(PARIS, "10")
    yield world
    world.rt.close()


def journal(world: World) -> tuple[SaleRow, list[SaleVersionRow]]:
    with world.rt.sessions() as s:
        (row,) = s.scalars(select(SaleRow)).all()
        return row, versions(s, row.id)


def quantities(payload: str) -> list[str]:
    return [line["quantity"] for line in json.loads(payload)["lines"]]


def test_later_versions_are_appended_and_the_journal_row_shows_the_latest(world: World) -> None:
    world.order("100", (SKU, "2"))
    first, _ = journal(world)
    world.order("100", (SKU, "3"), state="Modifying")
    world.order("100", (SKU, "3"), status="cancelled", state="Cancelled")
    row, found = journal(world)
    assert [(v.version, v.previous_status, v.status) for v in found] == [
        (1, None, "completed"),
        (2, "completed", "completed"),
        (3, "completed", "cancelled"),
    ]
    assert quantities(found[0].payload) == ["2"]  # the first version is kept
    assert [v.inbox_id for v in found] == [1, 2, 3]
    assert (row.id, row.recorded_at, row.version, row.status) == (
        first.id,
        first.recorded_at,
        3,
        "cancelled",
    )
    assert row.payload == found[2].payload and row.content_hash == found[2].content_hash
    assert quantities(row.payload) == ["3"] and row.inbox_id == 3


def test_the_same_content_again_is_no_version(world: World) -> None:
    world.order("100", (SKU, "2"))
    world.order("100", (SKU, "2"), key="order/100/read-again")
    row, found = journal(world)
    assert row.version == 1 and len(found) == 1


def test_shipped_is_a_version_even_when_the_sale_reads_the_same(world: World) -> None:
    world.order("100", (SKU, "2"))
    world.order("100", (SKU, "2"), state="Shipped")
    row, found = journal(world)
    assert [(v.version, v.fulfilled) for v in found] == [(1, False), (2, True)]
    assert found[0].content_hash == found[1].content_hash == row.content_hash
    assert row.version == 2 and row.status == "completed"


def test_a_shop_without_orders_settings_still_keeps_versions(world: World) -> None:
    from bridge.sync import ingest

    for n, qty in enumerate(("1", "4"), start=1):
        world.other.pending.append(
            (f"order/9/{n}", {"number": "9", "lines": [{"id": 1, "sku": SKU, "qty": qty}]})
        )
        ingest.poll(world.rt, "other", "orders")
    row, found = journal(world)
    assert [v.version for v in found] == [1, 2] and quantities(row.payload) == ["4"]
    assert world.stock(PARIS) == (10, 0)


def test_the_export_gives_the_latest_version(world: World) -> None:
    world.order("100", (SKU, "2"), (SKU, "1"))
    world.order("100", (SKU, "5"), status="cancelled", state="Cancelled")
    query = JournalQuery(
        start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC)
    )
    rows = list(records(world.rt.sessions, query))
    assert [(r["line_no"], r["quantity"], r["status"]) for r in rows] == [
        ("1", Decimal("5"), "cancelled")
    ]
    row, found = journal(world)
    assert rows[0]["content_hash"] == found[-1].content_hash == row.content_hash


def test_an_order_journaled_before_versions_gets_them_from_its_row(world: World) -> None:
    """A web order journaled by an older Brique (no version rows): its row is version 1."""
    world.order("100", (SKU, "2"))
    with world.rt.transaction() as s:
        s.execute(text("DELETE FROM sale_versions"))
    world.order("100", (SKU, "1"), state="Modifying")
    row, found = journal(world)
    assert [(v.version, quantities(v.payload)) for v in found] == [(1, ["2"]), (2, ["1"])]
    assert row.version == 2


def test_the_migration_gives_journaled_web_orders_their_first_version(
    tmp_path: Path, database_url: str
) -> None:
    db.upgrade(database_url, "0008")
    engine = create_engine(database_url)
    payload = '{"lines": []}'
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sales (connection, ticket_key, channel, status, payload, "
                    "content_hash, recorded_at) VALUES "
                    "('webshop', 'web/tx/1', 'web', 'completed', :p, 'h1', :t), "
                    "('tills', '1001/-/-/1', 'store', 'completed', :p, 'h2', :t)"
                ),
                {"p": payload, "t": datetime(2026, 11, 23, tzinfo=UTC)},
            )
        db.upgrade(database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.ticket_key, s.version, v.version, v.content_hash, v.fulfilled "
                    "FROM sales s LEFT JOIN sale_versions v ON v.sale_id = s.id "
                    "ORDER BY s.id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("web/tx/1", 1, 1, "h1", False),
        ("1001/-/-/1", 1, None, None, None),
    ]


def test_store_tickets_keep_no_versions(world: World) -> None:
    from datetime import date

    from bridge.model import Money, Sale, SaleLine, SaleStatus, TicketKey
    from bridge.sync import ingest

    ticket = Sale(
        key=TicketKey(store="1002", workstation="1", business_day=date(2026, 11, 23), sequence="7"),
        status=SaleStatus.COMPLETED,
        currency="EUR",
        lines=(
            SaleLine(
                line_no="1",
                sku=SKU,
                quantity=Decimal(1),
                unit_price=Money(amount="1", currency="EUR"),
            ),
        ),
    )
    world.till.pending = [ticket]
    ingest.poll(world.rt, "tills", "sales")
    with world.rt.sessions() as s:
        assert s.scalars(select(SaleVersionRow)).all() == []
        row = s.scalar(select(SaleRow))
        assert row is not None and row.version == 1 and row.content_hash == content_hash(ticket)
    assert world.stock(LYON) == (-1, 0)
