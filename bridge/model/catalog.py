"""Products and their variants; the SKU is the key every channel shares."""

from __future__ import annotations

from pydantic import Field

from bridge.model.base import Record
from bridge.model.money import Price
from bridge.model.types import Identifier


class Variant(Record):
    """A sellable item: one SKU, any number of barcodes (EAN/UPC kept as strings)."""

    sku: Identifier
    barcodes: tuple[Identifier, ...] = ()
    title: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    price: Price | None = None


class Product(Record):
    """A product groups variants that share a title and description."""

    product_id: Identifier
    title: str
    variants: tuple[Variant, ...] = ()


class PriceEntry(Record):
    """One SKU's price in one price list (``default``, a store's list, a channel's list)."""

    sku: Identifier
    price_list: Identifier = "default"
    price: Price
