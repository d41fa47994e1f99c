"""The envelope every record travels in: where it came from, when, and a content hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from bridge.model.base import Record
from bridge.model.basket import Basket
from bridge.model.catalog import PriceEntry, Product
from bridge.model.sale import Sale
from bridge.model.stock import StockLevel, StockMovement

SCHEMA_VERSION = 1


class SaleBody(Record):
    kind: Literal["sale"] = "sale"
    sale: Sale


class StockLevelBody(Record):
    kind: Literal["stock_level"] = "stock_level"
    level: StockLevel


class StockMovementBody(Record):
    kind: Literal["stock_movement"] = "stock_movement"
    movement: StockMovement


class BasketBody(Record):
    kind: Literal["basket"] = "basket"
    basket: Basket


class ProductBody(Record):
    kind: Literal["product"] = "product"
    product: Product


class PriceBody(Record):
    kind: Literal["price"] = "price"
    entry: PriceEntry


Body = Annotated[
    SaleBody | StockLevelBody | StockMovementBody | BasketBody | ProductBody | PriceBody,
    Field(discriminator="kind"),
]


def _canonical(value: Any) -> Any:
    """JSON-ready data in which equal numbers are written alike ("19.9" for 19.90)."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(body: Record) -> str:
    """SHA-256 of the body's canonical JSON: equal records hash equal, whatever their source.

    Decimals are compared by value, so a till writing ``19.90`` and a shop sending ``19.9``
    give the same hash for the same sale.
    """
    data = _canonical(body.model_dump(mode="python"))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Envelope(Record):
    """A canonical record plus its provenance; what the inbox stores and the use-cases read."""

    source_connection: str
    source_event_key: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    content_hash: str = ""
    schema_version: int = SCHEMA_VERSION
    body: Body

    @classmethod
    def wrap(
        cls, connection: str, event_key: str, body: Record, occurred_at: datetime | None = None
    ) -> Envelope:
        return cls(
            source_connection=connection,
            source_event_key=event_key,
            occurred_at=occurred_at or datetime.now(UTC),
            content_hash=content_hash(body),
            body=body,
        )
