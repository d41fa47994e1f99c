"""What a channel may sell of a SKU at a location: the stock rules of the mapping, compiled.

available = on hand - reserved - buffer, never below 0; below ``minimum`` it is 0; above
``maximum`` it is capped. A rule for the SKU wins over one for its category, which wins
over the location's safety buffer and the default. A pool (a virtual location) sums the
availability of its stores, each after its own buffer, so an oversold store never eats
another store's stock; the pool then keeps back only its own buffer (the stores already
held their category or SKU buffers), and the minimum and maximum apply to the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class Rule:
    buffer: Decimal = ZERO
    minimum: Decimal | None = None
    maximum: Decimal | None = None


@dataclass
class StockPolicy:
    default: Rule = field(default_factory=Rule)
    location_buffers: Mapping[str, Decimal] = field(default_factory=dict)
    categories: Mapping[str, dict[str, Decimal | None]] = field(default_factory=dict)
    skus: Mapping[str, dict[str, Decimal | None]] = field(default_factory=dict)
    category_of: Mapping[str, str] = field(default_factory=dict)
    pools: Mapping[str, tuple[tuple[str, ...], Decimal]] = field(default_factory=dict)
    """Pool code -> (member locations, the pool's own buffer)."""
    _cache: dict[tuple[str, str], Rule] = field(default_factory=dict, repr=False)

    def rule(self, sku: str, location: str) -> Rule:
        """The rule in force for (sku, location), most specific setting first."""
        key = (sku, location)
        found = self._cache.get(key)
        if found is not None:
            return found
        values: dict[str, Decimal | None] = {
            "buffer": self.location_buffers.get(location, self.default.buffer),
            "minimum": self.default.minimum,
            "maximum": self.default.maximum,
        }
        if location in self.pools:
            values["buffer"] = self.pools[location][1]
        pooled = location in self.pools
        category = self.category_of.get(sku)
        for layer in (self.categories.get(category or ""), self.skus.get(sku)):
            if layer:
                for name, value in layer.items():
                    # A pool's members already kept their category or SKU buffer back: the
                    # pool keeps only its own, or the same units would be held twice.
                    if value is not None and not (pooled and name == "buffer"):
                        values[name] = value
        found = Rule(values["buffer"] or ZERO, values["minimum"], values["maximum"])
        if len(self._cache) < 200_000:
            self._cache[key] = found
        return found

    def members(self, location: str) -> tuple[str, ...]:
        """The stores a location's stock is made of: itself, or a pool's members."""
        pool = self.pools.get(location)
        return pool[0] if pool else (location,)

    def pools_of(self, location: str) -> list[str]:
        return [code for code, (members, _) in self.pools.items() if location in members]

    def available(self, sku: str, location: str, on_hand: Decimal, reserved: Decimal) -> Decimal:
        """What may be published for one real location."""
        rule = self._cache.get((sku, location)) or self.rule(sku, location)
        value = on_hand - reserved - rule.buffer
        if value <= 0 or (rule.minimum is not None and value < rule.minimum):
            return ZERO
        if rule.maximum is not None and value > rule.maximum:
            return rule.maximum
        return value

    def pooled(self, sku: str, pool: str, parts: Mapping[str, tuple[Decimal, Decimal]]) -> Decimal:
        """What may be published for a pool, from each member's (on hand, reserved)."""
        total = ZERO
        for member in self.members(pool):
            on_hand, reserved = parts.get(member, (ZERO, ZERO))
            rule = self.rule(sku, member)
            value = on_hand - reserved - rule.buffer
            if value > 0:
                total += value
        rule = self.rule(sku, pool)
        return self._limits(rule, total - rule.buffer)

    @staticmethod
    def _limits(rule: Rule, value: Decimal) -> Decimal:
        if value <= 0:
            return ZERO
        if rule.minimum is not None and value < rule.minimum:
            return ZERO
        if rule.maximum is not None and value > rule.maximum:
            return rule.maximum
        return value
