"""The mapping file's schema: what admins may write in ``mappings/*.yaml``.

Unknown keys are refused so a typo never silently does nothing. Everything here is data:
the plan compiler (``bridge.mapping.plan``) turns it into look-ups and closures once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bridge.mapping.basespec import Spec
from bridge.mapping.loyaltyspec import LoyaltySpec
from bridge.mapping.parityspec import ParityField
from bridge.mapping.rulespec import KindMapping
from bridge.model.types import CurrencyCode, Dec, Identifier
from bridge.orders.spec import WebOrders
from bridge.yamlio import LocatedError

ROUNDING = Literal["half_up", "half_even", "half_down", "up", "down", "floor", "ceiling"]


class CsvSource(Spec):
    """A two-column table read from a CSV file next to the mapping (e.g. an ERP export)."""

    file: str
    """Path relative to the mapping file."""
    key: str
    """Column holding the key (e.g. the till's item id or the EAN)."""
    value: str
    """Column holding the value (e.g. the SKU)."""
    delimiter: str = ","


class TableSpec(Spec):
    """A lookup table: inline pairs, a CSV file, or both (inline wins)."""

    inline: dict[Identifier, Identifier] = Field(default_factory=dict)
    csv: CsvSource | None = None


class LocationSpec(Spec):
    """One Brique location and its id on each connection that knows it."""

    code: Identifier
    name: str = ""
    region: str | None = None
    """ISO country code: the default region of phone numbers captured there."""
    timezone: str | None = None
    price_list: str | None = None
    """The store's own price list; prices absent from it fall back to the default list."""
    ids: dict[str, Identifier] = Field(default_factory=dict)
    """Connection name -> that system's id for this location (store code, location GID)."""
    safety_buffer: Dec | None = None
    """Units kept back from what shops may sell (a category or SKU rule overrides it);
    unset: ``stock.default.buffer``; ``"0"``: none, whatever the default."""

    @field_validator("safety_buffer")
    @classmethod
    def _not_negative(cls, value: Any) -> Any:
        if value is not None and value < 0:
            raise LocatedError(f"safety_buffer cannot be negative (got {value})", ())
        return value


class ProductsSpec(Spec):
    crosswalk: dict[str, TableSpec] = Field(default_factory=dict)
    """Connection -> {native item id or EAN -> SKU}; adds to the inline ``skus`` shorthand."""
    categories: TableSpec = Field(default_factory=TableSpec)
    """SKU -> category, for stock rules and tax rates by category."""


class StockRule(Spec):
    """What a channel may sell: on hand - reserved - buffer, then the minimum and maximum."""

    buffer: Dec | None = None
    minimum: Dec | None = None
    """Below this, publish 0 (do not sell the last units online)."""
    maximum: Dec | None = None
    """Never publish more than this (limit exposure of a scarce item)."""

    @model_validator(mode="after")
    def _sane(self) -> StockRule:
        for name in ("buffer", "minimum", "maximum"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise LocatedError(f"{name} cannot be negative (got {value})", (name,))
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise LocatedError(
                f"minimum {self.minimum} is above maximum {self.maximum}", ("minimum",)
            )
        return self


class PoolSpec(Spec):
    """A virtual location whose stock is the sum of stores (e.g. one 'web' location)."""

    code: Identifier
    name: str = ""
    sum: tuple[Identifier, ...]
    ids: dict[str, Identifier] = Field(default_factory=dict)
    buffer: Dec = 0  # type: ignore[assignment]
    """Units kept back from the pool's total (each store's own buffer applies first)."""

    @field_validator("buffer")
    @classmethod
    def _not_negative(cls, value: Any) -> Any:
        if value < 0:
            raise LocatedError(f"buffer cannot be negative (got {value})", ())
        return value


class StockSpec(Spec):
    default: StockRule = Field(default_factory=StockRule)
    categories: dict[str, StockRule] = Field(default_factory=dict)
    skus: dict[Identifier, StockRule] = Field(default_factory=dict)
    pools: tuple[PoolSpec, ...] = ()


class RoundingSpec(Spec):
    places: int = Field(2, ge=0, le=6)
    mode: ROUNDING = "half_up"
    ending: Dec | None = None
    """A price ending such as "0.99": prices move to the nearest x.99 (see ``direction``)."""
    direction: Literal["up", "down", "nearest"] = "nearest"

    @field_validator("ending")
    @classmethod
    def _ending_in_unit(cls, value: Any) -> Any:
        if value is not None and not 0 <= value < 1:
            raise ValueError('an ending is a fraction of one unit, like "0.99"')
        return value


class PriceListSpec(Spec):
    fallback: str | None = "default"
    """Where a SKU missing from this list takes its price; null for none."""


class ChannelPrices(Spec):
    """How one shop connection shows prices."""

    price_list: str = "default"
    compare_at_list: str | None = None
    """A list of 'was' prices shown struck through (Shopify compareAtPrice)."""
    tax_included: bool = True
    rounding: RoundingSpec = Field(default_factory=RoundingSpec)


class PricesSpec(Spec):
    currency: CurrencyCode | None = None
    tax_included: bool = True
    """Whether the prices Brique receives (price lists) include tax."""
    lists: dict[str, PriceListSpec] = Field(default_factory=dict)
    channels: dict[str, ChannelPrices] = Field(default_factory=dict)
    parity: ParityField = None
    """The price parity watchdog: which prices must agree, how closely, how often."""


class TaxesSpec(Spec):
    rates: dict[str, Dec] = Field(default_factory=dict)
    """Named rates in percent, e.g. ``standard: "20"``."""
    default: str | None = None
    categories: dict[str, str] = Field(default_factory=dict)
    skus: dict[Identifier, str] = Field(default_factory=dict)
    codes: dict[str, dict[Identifier, str]] = Field(default_factory=dict)
    """Connection -> {native tax code -> rate name}."""

    @model_validator(mode="after")
    def _known_rates(self) -> TaxesSpec:
        from bridge.yamlio import did_you_mean

        for name, value in self.rates.items():
            if value < 0 or value > 100:
                raise LocatedError(
                    f"a tax rate is a percentage between 0 and 100 (got {value})", ("rates", name)
                )

        def check(name: str, at: tuple[str | int, ...]) -> None:
            if name not in self.rates:
                known = ", ".join(sorted(self.rates)) or "none declared under taxes.rates"
                raise LocatedError(
                    f"unknown tax rate {name!r}{did_you_mean(name, self.rates)} (known: {known})",
                    at,
                )

        if self.default is not None:
            check(self.default, ("default",))
        for cat, name in self.categories.items():
            check(name, ("categories", cat))
        for sku, name in self.skus.items():
            check(name, ("skus", sku))
        for conn, table in self.codes.items():
            for code, name in table.items():
                check(name, ("codes", conn, code))
        return self


class ConnectionMapping(Spec):
    """Field rules per record kind for one connection, inbound and outbound."""

    product: KindMapping | None = None
    price: KindMapping | None = None
    stock: KindMapping | None = None
    sale: KindMapping | None = None
    order: KindMapping | None = None
    customer: KindMapping | None = None

    def kinds(self) -> dict[str, KindMapping]:
        return {k: v for k, v in self if v is not None}


class MappingSpec(Spec):
    version: Literal[1] = 1
    locations: tuple[LocationSpec, ...] = ()
    skus: dict[str, dict[Identifier, Identifier]] = Field(default_factory=dict)
    """Connection name -> {native item id -> SKU}; an id absent here is used as the SKU."""
    products: ProductsSpec = Field(default_factory=ProductsSpec)
    stock: StockSpec = Field(default_factory=StockSpec)
    prices: PricesSpec = Field(default_factory=PricesSpec)
    taxes: TaxesSpec = Field(default_factory=TaxesSpec)
    tenders: dict[str, dict[Identifier, str]] = Field(default_factory=dict)
    """Connection -> {native tender code -> canonical tender kind (cash, card, voucher...)}."""
    units: dict[str, dict[Identifier, str]] = Field(default_factory=dict)
    """Connection -> {native unit code -> canonical unit (each, kg, l, m...)}."""
    tables: dict[str, TableSpec] = Field(default_factory=dict)
    """Named lookup tables for the ``lookup`` function."""
    connections: dict[str, ConnectionMapping] = Field(default_factory=dict)
    orders: WebOrders = Field(default_factory=dict)
    """Shop connection -> how its web orders reserve store stock (``bridge.orders.spec``)."""
    loyalty: LoyaltySpec | None = None
    """The points program (``bridge.mapping.loyaltyspec``); absent: no loyalty."""

    @model_validator(mode="after")
    def _unique(self) -> MappingSpec:
        seen: dict[str, int] = {}
        native: dict[tuple[str, str], str] = {}
        for index, loc in enumerate(self.locations):
            if loc.code in seen:
                raise LocatedError(
                    f"location code {loc.code!r} appears twice "
                    f"(first as locations item {seen[loc.code] + 1})",
                    ("locations", index, "code"),
                )
            seen[loc.code] = index
            for conn, ext in loc.ids.items():
                if (conn, ext) in native:
                    raise LocatedError(
                        f"{conn} id {ext!r} is mapped to both {native[(conn, ext)]!r} "
                        f"and {loc.code!r}",
                        ("locations", index, "ids", conn),
                    )
                native[(conn, ext)] = loc.code
        self._check_pools(seen, native)
        self._check_price_lists()
        self._check_parity()
        return self

    def _check_parity(self) -> None:
        """Stores and regions the parity policy names exist (said at load, with the place)."""
        from bridge.parity.policy import reference_problems

        for at, message in reference_problems(self)[:1]:
            raise LocatedError(message, at)

    def _check_pools(self, seen: dict[str, int], native: dict[tuple[str, str], str]) -> None:
        from bridge.yamlio import did_you_mean

        for index, pool in enumerate(self.stock.pools):
            at: tuple[str | int, ...] = ("stock", "pools", index)
            if pool.code in seen:
                raise LocatedError(
                    f"pool code {pool.code!r} is already a location code", (*at, "code")
                )
            seen[pool.code] = -1
            stores = [code for code, index in seen.items() if index >= 0]
            for pos, member in enumerate(pool.sum):
                if seen.get(member, 0) < 0:
                    raise LocatedError(
                        f"{member!r} is a pool: a pool sums locations, not pools",
                        (*at, "sum", pos),
                    )
                if member not in seen:
                    raise LocatedError(
                        f"unknown location {member!r}{did_you_mean(member, stores)}",
                        (*at, "sum", pos),
                    )
            for conn, ext in pool.ids.items():
                if (conn, ext) in native:
                    raise LocatedError(
                        f"{conn} id {ext!r} is mapped to both {native[(conn, ext)]!r} "
                        f"and pool {pool.code!r}",
                        (*at, "ids", conn),
                    )
                native[(conn, ext)] = pool.code

    def _check_price_lists(self) -> None:
        from bridge.yamlio import did_you_mean

        known = {"default", *self.prices.lists}
        for name, spec in self.prices.lists.items():
            if spec.fallback is not None and spec.fallback not in known:
                raise LocatedError(
                    f"unknown price list {spec.fallback!r}{did_you_mean(spec.fallback, known)}",
                    ("prices", "lists", name, "fallback"),
                )
        for conn, channel in self.prices.channels.items():
            for field in ("price_list", "compare_at_list"):
                value = getattr(channel, field)
                if value is not None and value not in known:
                    raise LocatedError(
                        f"unknown price list {value!r}{did_you_mean(value, known)} "
                        f"(declare it under prices.lists)",
                        ("prices", "channels", conn, field),
                    )
        for index, loc in enumerate(self.locations):
            if loc.price_list is not None and loc.price_list not in known:
                raise LocatedError(
                    f"unknown price list {loc.price_list!r}"
                    f"{did_you_mean(loc.price_list, known)} (declare it under prices.lists)",
                    ("locations", index, "price_list"),
                )
