"""A world for web-order tests: a fake shop whose orders reserve stock, a second shop
publishing the same stores, and a fake till that shows holds (sink ``reservations``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import func, select

from bridge.connector import (
    Capability,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
    ReservationWrite,
    WriteBatch,
    WriteResult,
)
from bridge.errors import DataError
from bridge.model import Money, Sale, SaleBody, SaleLine, SaleStatus, TicketKey
from bridge.model.base import Record
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.store.tables import StockMovementRow
from bridge.sync import ingest
from bridge.sync.ledger import from_e4, levels
from bridge.sync.runtime import Runtime
from bridge.sync.stock_import import import_counts
from tests.fakes import FakeConfig, FakePos, FakeShop, InlineDispatcher

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    ids: {tills: "1001", webshop: "P1", other: "O1"}
  - code: LYON-02
    ids: {tills: "1002", webshop: "L2", other: "O2"}
orders:
  webshop:
    store: PARIS-01
    fulfilled: {field: state, values: [Shipped, delivered]}
"""
SKU = "TSHIRT-RED-M"
PARIS, LYON = "PARIS-01", "LYON-02"


class WebShop(FakeShop):
    """A shop whose ``orders`` stream is what the test puts in ``pending``."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="fakewebshop",
        kind="shop",
        version="0",
        capabilities=frozenset(
            {Capability.WRITE_STOCK, Capability.READ_STOCK, Capability.READ_ORDERS}
        ),
        config_model=FakeConfig,
    )

    def __init__(self, name: str) -> None:
        super().__init__(FakeConfig(), ConnectorContext(name))
        self.pending: list[tuple[str, dict[str, Any]]] = []

    def streams(self) -> Sequence[str]:
        return ("orders",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        events = [InboundEvent(key=k, kind="order", payload=p) for k, p in self.pending]
        self.pending = []
        yield Page(events=events)

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != "order":
            return super().decode(event)
        p = event.payload
        status = {"cancelled": SaleStatus.CANCELLED, "test": SaleStatus.TRAINING}.get(
            p.get("status", ""), SaleStatus.COMPLETED
        )
        lines = tuple(
            SaleLine(
                line_no=str(line["id"]),
                sku=line["sku"],
                quantity=Decimal(line["qty"]),
                unit_price=Money(amount="19.99", currency="EUR"),
                amount=Money(amount=Decimal("19.99") * Decimal(line["qty"]), currency="EUR"),
            )
            for line in p["lines"]
        )
        sale = Sale(
            key=TicketKey(store=p.get("store", "web"), transaction_id=p["number"]),
            status=status,
            occurred_at="2026-11-23T10:00:00+00:00",
            currency="EUR",
            lines=lines,
            channel="web",
        )
        return [SaleBody(sale=sale)]


class Till(FakePos):
    """A till that holds stock for web orders: ``held[(order#line, sku, location)]``."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="faketill",
        kind="pos",
        version="0",
        capabilities=frozenset({Capability.READ_SALES, Capability.WRITE_RESERVATIONS}),
        config_model=FakeConfig,
    )

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[tuple[str, str, str], Decimal] = {}
        self.batches: list[WriteBatch] = []
        self.refuse: set[str] = set()
        self.fail_next: list[Exception] = []

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        if sink != "reservations":
            raise DataError(f"no sink {sink}")
        self.batches.append(batch)
        if self.fail_next:
            raise self.fail_next.pop(0)
        result = WriteResult()
        for item in batch.items:
            assert isinstance(item, ReservationWrite)
            key = f"{item.order_reference}#{item.line_no}:{item.sku}@{item.location}"
            if item.sku in self.refuse:
                result.failed[key] = f"no product {item.sku}"
                continue
            self.held[(f"{item.order_reference}#{item.line_no}", item.sku, item.location)] = (
                item.quantity
            )
            result.written += 1
        return result

    def holding(self) -> dict[tuple[str, str, str], Decimal]:
        return {k: v for k, v in self.held.items() if v}


@dataclass
class World:
    rt: Runtime
    shop: WebShop
    other: WebShop
    till: Till
    dispatcher: InlineDispatcher
    tmp: Path

    def count(self, location: str, quantity: str, sku: str = SKU) -> None:
        path = self.tmp / f"count-{sku}-{location}-{quantity}.csv"
        path.write_text(f"sku,location,quantity\n{sku},{location},{quantity}\n")
        import_counts(self.rt, path)

    def order(
        self,
        number: str,
        *lines: tuple[str, str],
        key: str | None = None,
        status: str = "new",
        state: str = "PaymentSettled",
        store: str = "web",
        **extra: Any,
    ) -> ingest.IngestResult:
        """The shop sends its order (``lines``: (sku, quantity)); Brique polls it."""
        payload = {
            "number": number,
            "status": status,
            "state": state,
            "store": store,
            "lines": [{"id": n, "sku": sku, "qty": qty} for n, (sku, qty) in enumerate(lines, 1)],
            **extra,
        }
        self.shop.pending.append((key or f"order/{number}/{status}/{state}", payload))
        return ingest.poll(self.rt, "webshop", "orders")

    def stock(self, location: str = PARIS, sku: str = SKU) -> tuple[Decimal, Decimal]:
        """(on hand, reserved) in the ledger."""
        with self.rt.sessions() as s:
            level = levels(s, [(sku, location)])[(sku, location)]
        return level.on_hand, level.reserved

    def movements(self) -> list[tuple[str, str, Decimal]]:
        with self.rt.sessions() as s:
            rows = s.execute(
                select(
                    StockMovementRow.movement_key,
                    StockMovementRow.reason,
                    StockMovementRow.delta_e4,
                ).order_by(StockMovementRow.id)
            ).all()
        return [(k, r, from_e4(d)) for k, r, d in rows if r != "count"]

    def count_rows(self, table: Any) -> int:
        with self.rt.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(table)) or 0)


def make_world(tmp_path: Path, database_url: str, mapping: str = MAPPING) -> World:
    path = tmp_path / "mapping.yaml"
    path.write_text(mapping)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=path,
        connections={
            "tills": ConnectionSettings(connector="poslog"),
            "webshop": ConnectionSettings(connector="shopify"),
            "other": ConnectionSettings(connector="shopify"),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(settings, dispatcher)
    dispatcher.rt = rt
    shop, other, till = WebShop("webshop"), WebShop("other"), Till()
    rt.use("webshop", shop)
    rt.use("other", other)
    rt.use("tills", till)
    return World(rt, shop, other, till, dispatcher, tmp_path)
