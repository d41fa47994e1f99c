"""The mapping's ``orders`` section: which store fulfils a shop's web orders, and what the
shop calls shipped.

Per shop connection, opt-in: a shop listed here has its web orders reserve stock at a store
(see ``bridge.orders.reserve``); a shop not listed keeps today's behaviour (its orders are
journaled and move no stock). Everything refers to the shop's *native* order as received
(the inbox payload), because that is where the shop says where and whether it shipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from bridge.mapping.basespec import Spec
from bridge.mapping.paths import PathError, compile_path
from bridge.model.types import Identifier
from bridge.yamlio import LocatedError, did_you_mean


def _path(value: str | None) -> str | None:
    if value is not None:
        try:
            compile_path(value)
        except PathError as exc:
            raise LocatedError(str(exc), ()) from None
    return value


class FulfilledRule(Spec):
    """When the shop says an order left the store (shipped, delivered, completed)."""

    field: str
    """JMESPath in the shop's native order holding its state (Vendure ``state``, Oscar
    ``status``, Shopify ``fulfillment_status``)."""
    values: tuple[str, ...] = Field(min_length=1)
    """The values of that field meaning the goods left the store, compared without case
    (``[Shipped, Delivered]``)."""

    @field_validator("field")
    @classmethod
    def _compiles(cls, value: str) -> str:
        _path(value)
        return value

    def matches(self, native: Mapping[str, Any]) -> bool:
        found = compile_path(self.field)(native)
        if found is None or isinstance(found, dict | list):
            return False
        wanted = {v.strip().casefold() for v in self.values}
        return str(found).strip().casefold() in wanted


class WebOrderSpec(Spec):
    """How one shop's web orders hold store stock."""

    store: Identifier | None = None
    """The Brique location code of the store that fulfils this shop's orders when the order
    itself names none Brique knows."""
    store_from: str | None = None
    """JMESPath in the shop's native order giving the shop's own id of the fulfilling store
    or pickup point (mapped through ``locations[].ids`` of this connection). Unset: the
    order's store id as the connector decodes it (``orders_store``, Magento ``store_id``)."""
    fulfilled: FulfilledRule | None = None
    """When the shop says the order shipped: the hold is released and the sale recorded
    (on hand decreases) once. Unset: holds end only when the order is cancelled."""

    @field_validator("store_from")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return _path(value)


def _known_stores(value: dict[str, WebOrderSpec], info: ValidationInfo) -> dict[str, Any]:
    """Each default store is a location code (a pool sums stores; it fulfils nothing)."""
    locations = info.data.get("locations")
    if locations is None:  # the locations failed validation: reported there
        return value
    codes = [loc.code for loc in locations]
    stock = info.data.get("stock")
    pools = {pool.code for pool in stock.pools} if stock is not None else set()
    for connection, spec in value.items():
        if spec.store is None or spec.store in codes:
            continue
        if spec.store in pools:
            message = f"{spec.store!r} is a pool: a web order is fulfilled by one store"
        else:
            known = ", ".join(codes) or "none declared under locations"
            message = (
                f"unknown store {spec.store!r}{did_you_mean(spec.store, codes)} (known: {known})"
            )
        raise LocatedError(message, (connection, "store"))
    return value


WebOrders = Annotated[dict[str, WebOrderSpec], AfterValidator(_known_stores)]
"""Shop connection -> how its web orders reserve store stock (``MappingSpec.orders``)."""
