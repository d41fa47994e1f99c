"""The canonical model: what every connector translates to and from."""

from bridge.model.basket import Basket, BasketLine, BasketStatus
from bridge.model.catalog import PriceEntry, Product, Variant
from bridge.model.customer import CustomerRef
from bridge.model.envelope import (
    SCHEMA_VERSION,
    BasketBody,
    Envelope,
    PriceBody,
    ProductBody,
    SaleBody,
    StockLevelBody,
    StockMovementBody,
    content_hash,
)
from bridge.model.location import Location
from bridge.model.money import Money, Price
from bridge.model.sale import Sale, SaleLine, SaleStatus, Tender, TicketKey, TicketLink
from bridge.model.stock import MovementReason, StockLevel, StockMovement

__all__ = [
    "SCHEMA_VERSION",
    "Basket",
    "BasketBody",
    "BasketLine",
    "BasketStatus",
    "CustomerRef",
    "Envelope",
    "Location",
    "Money",
    "MovementReason",
    "Price",
    "PriceBody",
    "PriceEntry",
    "Product",
    "ProductBody",
    "Sale",
    "SaleBody",
    "SaleLine",
    "SaleStatus",
    "StockLevel",
    "StockLevelBody",
    "StockMovement",
    "StockMovementBody",
    "Tender",
    "TicketKey",
    "TicketLink",
    "Variant",
    "content_hash",
]
