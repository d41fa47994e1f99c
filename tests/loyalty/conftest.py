"""A store till, a web shop's orders and a till trusted for its own points, on a fresh
database (SQLite and PostgreSQL), with Shopify and Odoo behind ``responses`` to publish to.

Sales go through the real sync use-cases (``ingest.poll`` -> ``apply``): the customer is
observed, then the loyalty hook records the points in the same transaction, and follow-ups
(pushes) run inline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bridge.connector import ConnectorContext
from bridge.loyalty import ledger
from bridge.loyalty.tables import LoyaltyEntryRow
from bridge.model import CustomerRef, Money, Sale, SaleLine, SaleStatus, Tender, TicketKey
from bridge.model.sale import LoyaltyEntry, TicketLink
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.store.tables import CustomerRecord
from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from tests.fakes import FakePos, InlineDispatcher
from tests.loyalty.remotes import FakeOdoo, FakeShopify, odoo_config, remotes, shop_config

DAY = date(2026, 11, 23)
SHOP = "brique-loyalty.myshopify.com"
MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    region: FR
    ids: {tills: "1001", stated: "2001"}
products:
  categories: {inline: {GIFT-CARD: gift}}
tenders:
  tills: {Loyalty: loyalty}
loyalty:
  currency: EUR
  points_per_unit: "1"
  exclude: {categories: [gift]}
  points_from: {stated: stated}
  redeem: {tenders: [loyalty], point_value: "0.10"}
"""
PUBLISHED = MAPPING + "  publish: [shop, odoo]\n"


def item(no: str, sku: str, qty: str, amount: str, link: TicketLink | None = None) -> SaleLine:
    return SaleLine(
        line_no=no,
        sku=sku,
        quantity=Decimal(qty),
        amount=Money(amount=amount, currency="EUR"),
        is_return=Decimal(qty) < 0,
        link=link,
    )


def ticket(
    seq: int,
    customer: CustomerRef | None,
    *lines: SaleLine,
    store: str = "1001",
    tenders: tuple[Tender, ...] = (),
    loyalty: tuple[LoyaltyEntry, ...] = (),
) -> Sale:
    return Sale(
        key=TicketKey(store=store, workstation="01", business_day=DAY, sequence=str(seq)),
        status=SaleStatus.COMPLETED,
        occurred_at=datetime.fromisoformat(f"2026-11-23T10:{seq % 60:02d}:00+01:00"),
        currency="EUR",
        lines=lines or (item("1", "TSHIRT", "1", "19.99"),),
        tenders=tenders,
        customer=customer,
        loyalty=loyalty,
    )


def web_order(number: int, customer: CustomerRef, amount: str = "30.00") -> Sale:
    return Sale(
        key=TicketKey(store=SHOP, transaction_id=str(number)),
        status=SaleStatus.COMPLETED,
        occurred_at=datetime.fromisoformat("2026-11-24T16:15:47-05:00"),
        currency="EUR",
        channel="web",
        lines=(item("1", "TSHIRT", "1", amount),),
        customer=customer,
    )


class World:
    def __init__(self, rt: Runtime, tills: FakePos, eshop: FakePos, stated: FakePos) -> None:
        self.rt = rt
        self.fakes = {"tills": tills, "eshop": eshop, "stated": stated}
        self.shop: FakeShopify | None = None
        self.odoo: FakeOdoo | None = None

    def ring(self, *sales: Sale, connection: str = "tills") -> Any:
        self.fakes[connection].pending = list(sales)
        return ingest.poll(self.rt, connection, "sales")

    def order(self, *sales: Sale) -> Any:
        return self.ring(*sales, connection="eshop")

    def golden(self, source: str, source_id: str) -> int:
        with self.rt.sessions() as s:
            found = s.scalar(
                select(CustomerRecord.golden_id).where(
                    CustomerRecord.source == source, CustomerRecord.source_id == source_id
                )
            )
        assert found is not None, (source, source_id)
        return found

    def balance(self, golden_id: int) -> Decimal:
        with self.rt.sessions() as s:
            return ledger.balance(s, ledger.active_id(s, golden_id))

    def entries(self) -> list[tuple[str, str, int]]:
        with self.rt.sessions() as s:
            rows = s.scalars(select(LoyaltyEntryRow).order_by(LoyaltyEntryRow.id)).all()
            return [(r.entry_key, r.kind, r.points_e4) for r in rows]

    def count(self, model: type) -> int:
        with self.rt.sessions() as s:
            return s.scalar(select(func.count()).select_from(model)) or 0


def make_world(tmp_path: Path, database_url: str, mapping_text: str = MAPPING) -> Runtime:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping_text)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="poslog"),
            "stated": ConnectionSettings(connector="poslog"),
            "eshop": ConnectionSettings(connector="shopify", config=shop_config()),
            "shop": ConnectionSettings(connector="shopify", config=shop_config()),
            "odoo": ConnectionSettings(connector="odoo", config=odoo_config()),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(settings, dispatcher)
    dispatcher.rt = rt
    return rt


def _world(tmp_path: Path, database_url: str, mapping_text: str) -> World:
    rt = make_world(tmp_path, database_url, mapping_text)
    fakes = [FakePos(context=ConnectorContext(name)) for name in ("tills", "eshop", "stated")]
    for fake in fakes:
        rt.use(fake.context.connection, fake)
    return World(rt, *fakes)


@pytest.fixture
def world(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    w = _world(tmp_path, database_url, MAPPING)
    try:
        yield w
    finally:
        w.rt.close()


@pytest.fixture
def published(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """The world with ``loyalty.publish: [shop, odoo]`` and both remotes answering."""
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    w = _world(tmp_path, database_url, PUBLISHED)
    with remotes() as (shop, odoo):
        w.shop, w.odoo = shop, odoo
        try:
            yield w
        finally:
            w.rt.close()
