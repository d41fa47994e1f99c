"""In-memory connectors and an inline dispatcher, for testing ``bridge.sync`` without a broker.

The inline dispatcher runs follow-up work in the same process, breadth-first; it is the unit
tests' stand-in for Celery and is never used outside tests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import SecretStr

from bridge.connector import (
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorInfo,
    InboundEvent,
    Page,
    PriceWrite,
    StockWrite,
    WriteBatch,
    WriteResult,
)
from bridge.errors import DataError
from bridge.model import Sale, SaleBody, StockLevel, StockLevelBody
from bridge.model.base import Record


class FakeConfig(ConnectorConfig):
    token: SecretStr = SecretStr("fake-token")


class FakePos(Connector):
    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="fakepos",
        kind="pos",
        version="0",
        capabilities=frozenset({Capability.READ_SALES}),
        config_model=FakeConfig,
    )

    def __init__(self, config: Any = None, context: Any = None) -> None:
        from bridge.connector import ConnectorContext

        super().__init__(config or FakeConfig(), context or ConnectorContext("tills"))
        self.pending: list[Sale] = []

    def check(self) -> None:
        return None

    def streams(self) -> Sequence[str]:
        return ("sales",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        events = [
            InboundEvent(key=s.key.as_string(), kind="sale", payload=s.model_dump(mode="json"))
            for s in self.pending
        ]
        self.pending = []
        yield Page(events=events)

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != "sale":
            raise DataError(f"unknown kind {event.kind}")
        return [SaleBody(sale=Sale.model_validate(event.payload))]


class FakeShop(Connector):
    """Records writes; honours idempotency keys and compare-and-set like Shopify."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="fakeshop",
        kind="shop",
        version="0",
        capabilities=frozenset(
            {Capability.WRITE_STOCK, Capability.READ_STOCK, Capability.WRITE_PRICES}
        ),
        config_model=FakeConfig,
        batch_limits={"stock": 3, "prices": 2},
    )

    def __init__(self, config: Any = None, context: Any = None) -> None:
        from bridge.connector import ConnectorContext

        super().__init__(config or FakeConfig(), context or ConnectorContext("webshop"))
        self.levels: dict[tuple[str, str], Decimal] = {}
        self.calls: list[WriteBatch] = []
        self.applied_keys: set[str] = set()
        self.fail_next: list[Exception] = []
        self.refuse_skus: set[str] = set()
        self.prices: dict[str, dict[str, Any]] = {}
        self.price_calls: list[WriteBatch] = []

    def check(self) -> None:
        return None

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        if sink == "prices":
            return self._write_prices(batch)
        self.calls.append(batch)
        if self.fail_next:
            raise self.fail_next.pop(0)
        result = WriteResult()
        if batch.idempotency_key in self.applied_keys:
            return result
        for item in batch.items:
            assert isinstance(item, StockWrite)
            key = f"{item.sku}@{item.location}"
            if item.sku in self.refuse_skus:
                result.failed[key] = f"unknown SKU {item.sku}"
                continue
            held = self.levels.get((item.sku, item.location))
            if item.previous is not None and held is not None and held != item.previous:
                result.stale[key] = held  # compare-and-set refused, as Shopify does
                continue
            self.levels[(item.sku, item.location)] = item.quantity
            result.written += 1
            result.observed[key] = item.quantity
        self.applied_keys.add(batch.idempotency_key)
        return result

    def _write_prices(self, batch: WriteBatch) -> WriteResult:
        self.price_calls.append(batch)
        if self.fail_next:
            raise self.fail_next.pop(0)
        result = WriteResult()
        for item in batch.items:
            assert isinstance(item, PriceWrite)
            if item.sku in self.refuse_skus:
                result.failed[item.sku] = f"unknown SKU {item.sku}"
                continue
            self.prices[item.sku] = dict(item.fields) or {"price": str(item.price.amount)}
            result.written += 1
        return result

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        return {p: self.levels[p] for p in pairs if p in self.levels}

    def decode(self, event: InboundEvent) -> list[Record]:
        p = event.payload
        level = StockLevel(sku=p["sku"], location=p["location"], on_hand=Decimal(p["available"]))
        return [StockLevelBody(level=level)]


class InlineDispatcher:
    """Runs dispatched work in-process, in order; re-entrant calls are queued, not nested."""

    def __init__(self) -> None:
        self.rt: Any = None
        self.queue: deque[tuple[str, tuple[Any, ...]]] = deque()
        self.running = False
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.paused = False

    def process_inbox(self, connection: str, inbox_ids: Sequence[int]) -> None:
        for inbox_id in inbox_ids:
            self._put("process_inbox", (inbox_id,))

    def push_stock(self, connection: str, delay: float = 0.0) -> None:
        self._put("push_stock", (connection,))

    def push_prices(self, connection: str, delay: float = 0.0) -> None:
        self._put("push_prices", (connection,))

    def send_outbox(self, connection: str, outbox_id: int, delay: float = 0.0) -> None:
        self._put("send_outbox", (outbox_id,))

    def call(
        self, task: str, *args: Any, connection: str | None = None, delay: float = 0.0
    ) -> None:
        self._put(task, args)

    def _put(self, name: str, args: tuple[Any, ...]) -> None:
        self.queue.append((name, args))
        self.log.append((name, args))
        if not self.running and not self.paused:
            self.drain()

    def drain(self) -> None:
        from bridge.sync import apply, followups, outbox, push_prices, push_stock

        self.running = True
        try:
            while self.queue:
                name, args = self.queue.popleft()
                if name == "process_inbox":
                    for shop in apply.process_inbox(self.rt, *args):
                        self.push_stock(shop)
                elif name == "push_stock":
                    push_stock.push(self.rt, *args)
                elif name == "push_prices":
                    push_prices.push(self.rt, *args)
                elif name == "send_outbox":
                    outbox.send(self.rt, *args)
                else:
                    followups.resolve(name)(self.rt, *args)
        finally:
            self.running = False
