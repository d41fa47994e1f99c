"""A shop and a till that know baskets, as the sync sees them (decode and the baskets sink)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from bridge.connector import (
    BasketWrite,
    Capability,
    Connector,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
    WriteBatch,
    WriteResult,
)
from bridge.errors import DataError
from bridge.model import Basket, BasketBody, Sale, SaleBody
from bridge.model.base import Record
from tests.fakes import FakeConfig


class _Feed(Connector):
    """Serves queued baskets and sales on a ``feed`` stream; records basket writes."""

    def __init__(self, name: str) -> None:
        super().__init__(FakeConfig(), ConnectorContext(name))
        self.pending: list[InboundEvent] = []
        self.opened: dict[str, dict[str, Any]] = {}
        self.closed: list[str] = []
        self.writes: list[WriteBatch] = []
        self.refuse: set[str] = set()
        self.applied: dict[str, WriteResult] = {}

    def check(self) -> None:
        return None

    def streams(self) -> Sequence[str]:
        return ("feed",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        events, self.pending = self.pending, []
        yield Page(events=events)

    def push_basket(self, basket: Basket, key: str | None = None) -> None:
        stamp = basket.updated_at.isoformat() if basket.updated_at else "-"
        self.pending.append(
            InboundEvent(
                key=key or f"basket/{basket.basket_id}/{stamp}",
                kind="basket",
                payload=basket.model_dump(mode="json"),
            )
        )

    def push_sale(self, sale: Sale) -> None:
        self.pending.append(
            InboundEvent(
                key=sale.key.as_string(), kind="sale", payload=sale.model_dump(mode="json")
            )
        )

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind == "basket":
            return [BasketBody(basket=Basket.model_validate(event.payload))]
        if event.kind == "sale":
            return [SaleBody(sale=Sale.model_validate(event.payload))]
        raise DataError(f"unknown kind {event.kind}")

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        if sink != "baskets":
            raise DataError(f"no sink {sink}")
        self.writes.append(batch)
        if batch.idempotency_key in self.applied:  # a repeat: the platform answers the same
            return self.applied[batch.idempotency_key]
        result = WriteResult()
        for item in batch.items:
            assert isinstance(item, BasketWrite)
            if item.code in self.refuse:
                result.failed[item.code] = f"unknown product in basket {item.code}"
                continue
            if item.action == "close":
                self.closed.append(item.code)
                result.observed[item.code] = {"id": item.external_id, "closed": True}
            else:
                found = self.opened.setdefault(
                    item.code,
                    {
                        "id": f"{self.context.connection}-{len(self.opened) + 1}",
                        "lines": [(ln.sku, str(ln.quantity)) for ln in item.lines],
                        "location": item.location,
                    },
                )
                url = self.url(found["id"])
                result.observed[item.code] = {"id": found["id"], "url": url}
            result.written += 1
        self.applied[batch.idempotency_key] = result
        return result

    def url(self, ident: str) -> str | None:
        return None


class BasketShop(_Feed):
    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="basketshop",
        kind="shop",
        version="0",
        capabilities=frozenset(
            {Capability.READ_BASKETS, Capability.WRITE_BASKETS, Capability.READ_ORDERS}
        ),
        config_model=FakeConfig,
    )

    def url(self, ident: str) -> str | None:
        return f"https://shop.test/checkout/{ident}"


class BasketTill(_Feed):
    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="baskettill",
        kind="pos",
        version="0",
        capabilities=frozenset(
            {Capability.READ_SALES, Capability.READ_BASKETS, Capability.WRITE_BASKETS}
        ),
        config_model=FakeConfig,
    )
