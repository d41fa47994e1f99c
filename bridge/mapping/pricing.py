"""Prices per channel and per store, compiled from the mapping's price rules.

A SKU's price comes from the channel's (or store's) price list, falling back along the
lists' ``fallback`` chain; it is converted between tax-included and tax-excluded with the
SKU's rate, rounded by the channel's rule, and moved to the channel's price ending. All of
it in Decimal, through the same whitelisted functions a field rule uses, so a preview and
a push agree. Chains and step sequences are composed once per plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from bridge.errors import DataError

Step = Callable[[object, object], object]


class ChannelPrice(NamedTuple):
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
        return {
            "sku": self.sku,
            "price": {"amount": self.price, "currency": self.currency},
            "compare_at": None
            if self.compare_at is None
            else {"amount": self.compare_at, "currency": self.currency},
            "tax_included": self.tax_included,
            "price_list": self.price_list,
        }


_new = tuple.__new__


@dataclass(frozen=True)
class ChannelRules:
    """One channel's price rules, composed: each rate's whole step sequence is ready."""

    price_list: str
    price_chain: tuple[str, ...]
    compare_chain: tuple[str, ...] | None
    tax_included: bool
    converts: bool
    """Whether prices must change tax convention on the way to this channel."""
    finish: Mapping[str | None, tuple[Step, ...]]
    """Rate name (None when no conversion) -> conversion (rounded by the channel's rule),
    rounding, price ending."""
    compare_finish: Mapping[str | None, tuple[Step, ...]]
    """The same without the ending: a compare-at price is only converted and rounded."""
    finish_one: Mapping[str | None, Callable[[Any], Any]] = field(default_factory=dict)
    """``finish`` composed into one call per rate."""
    compare_one: Mapping[str | None, Callable[[Any], Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "finish_one", {r: compose(s) for r, s in self.finish.items()})
        object.__setattr__(
            self, "compare_one", {r: compose(s) for r, s in self.compare_finish.items()}
        )


def compose(steps: tuple[Step, ...]) -> Callable[[Any], Any]:
    """One function applying price steps in order (they never read a record)."""
    if len(steps) == 1:
        (only,) = steps
        return lambda value: only(value, None)
    if len(steps) == 2:
        first, second = steps
        return lambda value: second(first(value, None), None)

    def chain(value: Any) -> Any:
        for step in steps:
            value = step(value, None)
        return value

    return chain


@dataclass
class PriceBook:
    currency: str | None = None
    tax_included: bool = True
    chains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Price list -> the lists to look in, in order (itself, then its fallbacks)."""
    channels: Mapping[str, ChannelRules] = field(default_factory=dict)
    store_lists: Mapping[str, str] = field(default_factory=dict)
    rate_of_sku: Mapping[str, str] = field(default_factory=dict)
    rate_of_category: Mapping[str, str] = field(default_factory=dict)
    category_of: Mapping[str, str] = field(default_factory=dict)
    default_rate: str | None = None
    _rates: dict[str, str | None] = field(default_factory=dict, repr=False)

    def rate_name(self, sku: str) -> str | None:
        """The SKU's tax rate: its own, its category's, or the default."""
        try:
            return self._rates[sku]
        except KeyError:
            pass
        name = self.rate_of_sku.get(sku)
        if name is None:
            name = self.rate_of_category.get(self.category_of.get(sku, ""))
        name = name or self.default_rate
        if len(self._rates) < 500_000:
            self._rates[sku] = name
        return name

    def resolve(self, price_list: str, prices: Mapping[str, Decimal]) -> tuple[str, Decimal] | None:
        """The first price found along the list's fallback chain, with the list it came from."""
        for name in self.chains.get(price_list, (price_list,)):
            if name in prices:
                return name, prices[name]
        return None

    def channel_price(
        self, connection: str, sku: str, prices: Mapping[str, Decimal]
    ) -> ChannelPrice | None:
        """What ``connection`` must show for ``sku``, or None if no list has a price."""
        rules = self.channels.get(connection)
        if rules is None:
            return None
        for used in rules.price_chain:
            if used in prices:
                break
        else:
            return None
        currency = self.currency
        if currency is None:
            raise DataError("prices.currency is not set in the mapping")
        rate = (self._rates.get(sku) or self._rate_for(sku)) if rules.converts else None
        value = rules.finish_one[rate](prices[used])
        compare_at = None
        if rules.compare_chain is not None:
            for was_list in rules.compare_chain:
                if was_list in prices:
                    was = rules.compare_one[rate](prices[was_list])
                    if was > value:
                        compare_at = was
                    break
        # tuple.__new__ directly: NamedTuple's own __new__ is a Python call per record
        return _new(ChannelPrice, (sku, value, compare_at, currency, rules.tax_included, used))

    def _rate_for(self, sku: str) -> str:
        name = self.rate_name(sku)
        if name is None:
            raise DataError(
                f"no tax rate for SKU {sku!r}: set taxes.default, or a rate for its "
                "category or for the SKU"
            )
        return name

    def store_price(
        self, location: str, sku: str, prices: Mapping[str, Decimal]
    ) -> tuple[str, Decimal] | None:
        """A store's shelf price (as stored: no conversion, no ending) and its list."""
        return self.resolve(self.store_lists.get(location, "default"), prices)
