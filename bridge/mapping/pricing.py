"""Prices per channel and per store, compiled from the mapping's price rules.

A SKU's price comes from the channel's (or store's) price list, falling back along the
lists' ``fallback`` chain; it is converted between tax-included and tax-excluded with the
SKU's rate, rounded, and moved to the channel's price ending. All of it in Decimal, through
the same whitelisted functions a field rule uses, so a preview and a push agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bridge.errors import DataError

Step = Callable[[object, object], object]


@dataclass(frozen=True)
class ChannelPrice:
    sku: str
    price: Decimal
    compare_at: Decimal | None
    currency: str
    tax_included: bool
    price_list: str
    """The list the price was found in (after fallbacks), for previews and audits."""

    def as_record(self) -> dict[str, object]:
        """The record a channel's outbound price rules read (``connections.<shop>.price``):
        ``sku``, ``price`` and ``compare_at`` as ``{amount, currency}``, ``tax_included``,
        ``price_list``."""

        def money(amount: Decimal | None) -> dict[str, object] | None:
            return None if amount is None else {"amount": amount, "currency": self.currency}

        return {
            "sku": self.sku,
            "price": money(self.price),
            "compare_at": money(self.compare_at),
            "tax_included": self.tax_included,
            "price_list": self.price_list,
        }


@dataclass(frozen=True)
class ChannelRules:
    price_list: str
    compare_at_list: str | None
    tax_included: bool
    finish: tuple[Step, ...]
    """Rounding, then the price ending."""
    round_only: tuple[Step, ...]


@dataclass
class PriceBook:
    currency: str | None = None
    tax_included: bool = True
    fallbacks: Mapping[str, str | None] = field(default_factory=dict)
    channels: Mapping[str, ChannelRules] = field(default_factory=dict)
    store_lists: Mapping[str, str] = field(default_factory=dict)
    rate_of_sku: Mapping[str, str] = field(default_factory=dict)
    rate_of_category: Mapping[str, str] = field(default_factory=dict)
    category_of: Mapping[str, str] = field(default_factory=dict)
    default_rate: str | None = None
    tax_in: Mapping[str, Step] = field(default_factory=dict)
    """Rate name -> excluded-to-included step (rounded to the channel's places)."""
    tax_out: Mapping[str, Step] = field(default_factory=dict)

    def rate_name(self, sku: str) -> str | None:
        """The SKU's tax rate: its own, its category's, or the default."""
        name = self.rate_of_sku.get(sku)
        if name is None:
            name = self.rate_of_category.get(self.category_of.get(sku, ""))
        return name or self.default_rate

    def resolve(self, price_list: str, prices: Mapping[str, Decimal]) -> tuple[str, Decimal] | None:
        """The first price found along the list's fallback chain, with the list it came from."""
        current: str | None = price_list
        seen = set()
        while current is not None and current not in seen:
            seen.add(current)
            if current in prices:
                return current, prices[current]
            current = self.fallbacks.get(current, None if current == "default" else "default")
        return None

    def channels_for(self) -> list[str]:
        return list(self.channels)

    def channel_price(
        self, connection: str, sku: str, prices: Mapping[str, Decimal]
    ) -> ChannelPrice | None:
        """What ``connection`` must show for ``sku``, or None if no list has a price."""
        rules = self.channels.get(connection)
        if rules is None:
            return None
        found = self.resolve(rules.price_list, prices)
        if found is None:
            return None
        used, amount = found
        price = self._finish(sku, amount, rules, rules.finish)
        compare_at = None
        if rules.compare_at_list is not None:
            was = self.resolve(rules.compare_at_list, prices)
            if was is not None:
                value = self._finish(sku, was[1], rules, rules.round_only)
                compare_at = value if value > price else None
        if self.currency is None:
            raise DataError("prices.currency is not set in the mapping")
        return ChannelPrice(sku, price, compare_at, self.currency, rules.tax_included, used)

    def store_price(
        self, location: str, sku: str, prices: Mapping[str, Decimal]
    ) -> tuple[str, Decimal] | None:
        """A store's shelf price (as stored: no conversion, no ending) and its list."""
        return self.resolve(self.store_lists.get(location, "default"), prices)

    def _finish(
        self, sku: str, amount: Decimal, rules: ChannelRules, steps: tuple[Step, ...]
    ) -> Decimal:
        value: object = amount
        if rules.tax_included != self.tax_included:
            name = self.rate_name(sku)
            if name is None:
                raise DataError(
                    f"no tax rate for SKU {sku!r}: set taxes.default, or a rate for its "
                    "category or for the SKU"
                )
            convert = self.tax_in if rules.tax_included else self.tax_out
            value = convert[name](value, None)
        for step in steps:
            value = step(value, None)
        assert isinstance(value, Decimal)
        return value
