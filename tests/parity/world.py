"""A Brique installation for the parity tests: a till, two shops, three stores, a policy.

Stores PARIS-01 and LYON-02 (region FR; LYON-02 has its own list ``lyon``) and
BRUXELLES-03 (region BE, list ``belgium``); shops ``webshop`` (list ``web``, tax included,
its outbound rules write ``price``) and ``outlet`` (list ``outlet``, shows prices tax
excluded). The policy: the French stores and the web shop agree with the reference list
``default`` within 0.01; the outlet may be up to 15% cheaper than it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bridge.events import DELIVER, EventRow
from bridge.model import Money, Sale, SaleLine, SaleStatus, TicketKey
from bridge.parity.tables import PriceDivergence
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.sync.price_import import import_prices
from bridge.sync.runtime import Runtime
from tests.fakes import FakePos, FakeShop, InlineDispatcher

POLICY = """\
  parity:
    every: 1h
    tolerance: {absolute: "0.01"}
    groups:
      france:
        channels: [webshop]
        regions: [FR]
        lists: [default]
        reference: list:default
      outlet:
        channels: [outlet]
        lists: [default]
        reference: list:default
    allow:
      - channel: outlet
        cheaper_by: "15"
    tills: {grace: 1h}
"""

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    region: FR
    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}
  - code: LYON-02
    region: FR
    price_list: lyon
    ids: {tills: "1002"}
  - code: BRUXELLES-03
    region: BE
    price_list: belgium
    ids: {tills: "1003"}
prices:
  currency: EUR
  tax_included: true
  lists:
    web: {}
    lyon: {}
    belgium: {}
    outlet: {}
  channels:
    webshop: {price_list: web}
    outlet: {price_list: outlet, tax_included: false}
POLICY
taxes:
  rates: {standard: "20"}
  default: standard
connections:
  webshop:
    price:
      outbound:
        key: sku
        fields:
          price: {from: price.amount, apply: [string]}
"""


def mapping_text(policy: str | None = POLICY) -> str:
    return MAPPING.replace("POLICY\n", policy or "")


class Dispatcher(InlineDispatcher):
    """Runs follow-ups in process like the sync tests, but only records event deliveries
    (delivery to subscribers is tested where it is written)."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[int] = []

    def call(self, task: str, *args: Any, connection: str | None = None, delay: float = 0.0):
        if task == DELIVER:
            self.delivered.extend(args)  # type: ignore[arg-type]
            return
        super().call(task, *args, connection=connection, delay=delay)


class World:
    def __init__(self, tmp_path: Path, database_url: str, text: str) -> None:
        self.tmp_path = tmp_path
        self.mapping = tmp_path / "mapping.yaml"
        self.mapping.write_text(text)
        self.settings = Settings(
            data_dir=tmp_path,
            database_url=database_url,
            mapping=self.mapping,
            connections={
                "tills": ConnectionSettings(connector="poslog"),
                "webshop": ConnectionSettings(connector="shopify"),
                "outlet": ConnectionSettings(connector="shopify"),
            },
        )
        db.upgrade(database_url)
        self.dispatcher = Dispatcher()
        self.rt = Runtime(self.settings, self.dispatcher)
        self.dispatcher.rt = self.rt
        self.pos, self.shop, self.outlet = FakePos(), FakeShop(), FakeShop()
        self.rt.use("tills", self.pos)
        self.rt.use("webshop", self.shop)
        self.rt.use("outlet", self.outlet)
        self.files = 0

    def prices(self, *rows: str) -> None:
        """Import ``sku,price,list`` rows as a price list file (the everyday path)."""
        self.files += 1
        path = self.tmp_path / f"prices-{self.files}.csv"
        path.write_text("sku,price,list\n" + "".join(f"{row}\n" for row in rows))
        import_prices(self.rt, path)

    def ring(self, store: str, seq: int, *lines: tuple[str, str], at: datetime | None = None):
        """A completed till ticket selling one unit of each (SKU, unit price)."""
        from bridge.sync import ingest

        self.pos.pending = [
            Sale(
                key=TicketKey(
                    store=store, workstation="01", business_day=date(2026, 11, 23),
                    sequence=str(seq),
                ),
                status=SaleStatus.COMPLETED,
                occurred_at=at or datetime.now(UTC),
                currency="EUR",
                lines=tuple(
                    SaleLine(
                        line_no=str(n), sku=sku, quantity=Decimal(1),
                        unit_price=Money(amount=price, currency="EUR"),
                    )
                    for n, (sku, price) in enumerate(lines, start=1)
                ),
            )
        ]  # fmt: skip
        ingest.poll(self.rt, "tills", "sales")

    def divergences(self, status: str | None = None) -> list[PriceDivergence]:
        with self.rt.sessions() as s:
            query = select(PriceDivergence).order_by(PriceDivergence.id)
            if status is not None:
                query = query.where(PriceDivergence.status == status)
            return list(s.scalars(query))

    def events(self) -> list[EventRow]:
        with self.rt.sessions() as s:
            query = select(EventRow).where(EventRow.topic.like("price.%")).order_by(EventRow.id)
            return list(s.scalars(query))

    def close(self) -> None:
        self.rt.close()
