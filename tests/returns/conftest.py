"""A till (fake POS) and a web shop whose orders are real Shopify order payloads, decoded by
the Shopify connector's own decoder, on a fresh database (SQLite and PostgreSQL).

The shop records the ``returns`` writes it receives and answers them like a platform that
honours the write's key (a second write of the same key changes nothing there).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select

from bridge.connector import (
    Capability,
    Connector,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
    ReturnWrite,
    WriteBatch,
    WriteResult,
)
from bridge.errors import DataError
from bridge.model import Money, Sale, SaleLine, SaleStatus, TicketKey, TicketLink
from bridge.model.base import Record
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from connectors.shopify import ShopifyConfig, ShopifyConnector
from tests.fakes import FakeConfig, FakePos, InlineDispatcher

SHOP_HOST = "brique-test.myshopify.com"
PARIS_GID = "gid://shopify/Location/1"
TILL_SKU = "3600000000017"
SKU = "TSHIRT-RED-M"

MAPPING = f"""\
version: 1
locations:
  - code: PARIS-01
    price_list: paris
    ids: {{tills: "1001", eshop: "{PARIS_GID}"}}
  - code: LYON-01
    ids: {{tills: "2001"}}
skus:
  tills: {{"{TILL_SKU}": {SKU}, "3600000000024": TSHIRT-RED-L}}
prices:
  currency: EUR
  tax_included: true
  lists:
    paris: {{fallback: default}}
taxes:
  rates: {{standard: "20"}}
  default: standard
"""


class OrdersShop(Connector):
    """A web shop: its orders stream carries raw Shopify orders; it marks returns."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="ordershop",
        kind="shop",
        version="0",
        capabilities=frozenset({Capability.READ_ORDERS, Capability.WRITE_RETURNS}),
        config_model=FakeConfig,
    )

    def __init__(self, connection: str = "eshop") -> None:
        super().__init__(FakeConfig(), ConnectorContext(connection))
        self.decoder = ShopifyConnector(
            ShopifyConfig(shop_url=f"https://{SHOP_HOST}", access_token="shpat_test"),
            ConnectorContext(connection),
        )
        self.pending: list[dict[str, Any]] = []
        self.batches: list[WriteBatch] = []
        self.marked: dict[str, ReturnWrite] = {}
        """Write key -> the return as the shop recorded it (once per key)."""
        self.refuse: dict[str, str] = {}
        """Write key -> a refusal to answer with, as a platform would."""

    def check(self) -> None:
        return None

    def streams(self) -> Sequence[str]:
        return ("orders",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        events = [
            InboundEvent(key=f"order/{p['id']}", kind="orders/create", payload=p)
            for p in self.pending
        ]
        self.pending = []
        yield Page(events=events)

    def decode(self, event: InboundEvent) -> list[Record]:
        return self.decoder.decode(event)

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        if sink != "returns":
            raise DataError(f"no sink {sink}")
        self.batches.append(batch)
        result = WriteResult()
        for item in batch.items:
            assert isinstance(item, ReturnWrite)
            if item.key in self.refuse:
                result.failed[item.key] = self.refuse.pop(item.key)
                continue
            self.marked.setdefault(item.key, item)
            result.written += 1
            result.observed[item.key] = {"refund": f"gid://shopify/Refund/{len(self.marked)}"}
        return result


class PlainShop(OrdersShop):
    """A shop whose connector cannot mark returns (Oscar's admin API, say)."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="plainshop",
        kind="shop",
        version="0",
        capabilities=frozenset({Capability.READ_ORDERS}),
        config_model=FakeConfig,
    )


def shopify_order(
    order_id: int = 820982911946154508,
    number: int = 1001,
    lines: Sequence[tuple[str, int, str]] = ((SKU, 2, "30.00"),),
    *,
    taxes_included: bool = True,
    currency: str = "EUR",
    cancelled: bool = False,
) -> dict[str, Any]:
    """A Shopify ``orders/create`` body (REST Order shape, as documented)."""
    items = []
    total = Decimal(0)
    for position, (sku, quantity, price) in enumerate(lines):
        gross = Decimal(price) * quantity
        tax = (gross / 6 if taxes_included else gross / 5).quantize(Decimal("0.01"))
        total += gross if taxes_included else gross + tax
        items.append(
            {
                "id": 466157049 + position,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{466157049 + position}",
                "sku": sku,
                "name": f"Shirt {sku}",
                "quantity": quantity,
                "price": price,
                "total_discount": "0.00",
                "discount_allocations": [],
                "tax_lines": [{"price": format(tax, "f"), "rate": 0.2, "title": "TVA"}],
            }
        )
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "order_number": number,
        "created_at": "2026-11-20T10:00:00+01:00",
        "currency": currency,
        "taxes_included": taxes_included,
        "total_price": format(total, "f"),
        "financial_status": "paid",
        "cancelled_at": "2026-11-21T10:00:00+01:00" if cancelled else None,
        "line_items": items,
        "customer": {"id": 115310627314723954, "email": "jon@example.com"},
    }


def store_return(
    sequence: int,
    reference: str | None,
    lines: Sequence[tuple[str, str, str | None]] = ((TILL_SKU, "-1", "-30.00"),),
    *,
    store: str = "1001",
    on_ticket: bool = False,
    currency: str = "EUR",
) -> Sale:
    """A till return: negative lines, linked to the web order by the number typed."""
    link = TicketLink(order_reference=reference) if reference else None
    sale_lines = []
    for position, (sku, quantity, amount) in enumerate(lines, start=1):
        q = Decimal(quantity)
        sale_lines.append(
            SaleLine(
                line_no=str(position),
                sku=sku,
                quantity=q,
                unit_price=None
                if amount is None
                else Money(amount=abs(Decimal(amount) / q), currency=currency),
                amount=None if amount is None else Money(amount=amount, currency=currency),
                is_return=True,
                link=None if on_ticket else link,
            )
        )
    return Sale(
        key=TicketKey(
            store=store, workstation="01", business_day=date(2026, 11, 23), sequence=str(sequence)
        ),
        status=SaleStatus.COMPLETED,
        occurred_at=datetime.fromisoformat("2026-11-23T15:00:00+01:00"),
        currency=currency,
        lines=tuple(sale_lines),
        link=link if on_ticket else None,
    )


class World:
    def __init__(self, rt: Runtime, pos: FakePos, shop: OrdersShop, dispatcher: Any) -> None:
        self.rt, self.pos, self.shop, self.dispatcher = rt, pos, shop, dispatcher

    def ring(self, *sales: Sale) -> Any:
        self.pos.pending = list(sales)
        return ingest.poll(self.rt, "tills", "sales")

    def order(self, *payloads: dict[str, Any], connection: str = "eshop") -> Any:
        shop = self.rt.connector(connection)
        assert isinstance(shop, OrdersShop)
        shop.pending = list(payloads)
        return ingest.poll(self.rt, connection, "orders")

    def count(self, model: type, *where: Any) -> int:
        with self.rt.sessions() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def rows(self, model: type, *where: Any) -> list[Any]:
        with self.rt.sessions() as s:
            return list(s.scalars(select(model).where(*where).order_by(model.id)))


def make(tmp_path: Path, database_url: str) -> Iterator[World]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="poslog"),
            "eshop": ConnectionSettings(connector="shopify"),
            "oscarshop": ConnectionSettings(connector="oscar"),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(settings, dispatcher)
    dispatcher.rt = rt
    pos, shop = FakePos(), OrdersShop("eshop")
    rt.use("tills", pos)
    rt.use("eshop", shop)
    rt.use("oscarshop", PlainShop("oscarshop"))
    try:
        yield World(rt, pos, shop, dispatcher)
    finally:
        rt.close()


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    yield from make(tmp_path, database_url)
