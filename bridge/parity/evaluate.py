"""Judge one SKU: every member's effective price on one basis, and what the policy says.

Pure functions of what was loaded (no database): the scan, the report and the tests share
them. Every price is brought to the common basis first: tax included (at the SKU's rate),
in ``prices.currency``, rounded half-up to the policy's places; that is what a customer
pays, so a shop showing tax-excluded prices and a till ringing tax-included ones compare.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bridge.errors import DataError
from bridge.mapping.plan import MappingPlan
from bridge.mapping.pricing import ChannelPrice
from bridge.mapping.rules import fingerprint
from bridge.parity.policy import Allowance, Group, Member, Policy

HELD = "shop_holds"
TILL = "till"
_SHOWN_AT_BASE = 5
"""Members at the baseline price named in a divergence (the rest are counted)."""


def utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back UTC wall time


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@dataclass(frozen=True)
class Quote:
    """One member's price for a SKU: as it shows (``native``) and on the common basis."""

    member: Member
    price: Decimal
    native: Decimal
    native_tax_included: bool
    source: str
    """``computed`` (a channel: the mapping's result) or ``list`` (a store or a list)."""
    price_list: str
    """The list it was found in, after fallbacks."""
    compare_at: Decimal | None = None
    excluded: bool = False
    computed: ChannelPrice | None = None
    """A channel's price as the push computes it (for the fingerprint check)."""

    def as_json(self) -> dict[str, object]:
        return {
            "price": text(self.price),
            "native": text(self.native),
            "native_tax_included": self.native_tax_included,
            "source": self.source,
            "price_list": self.price_list,
            "compare_at": text(self.compare_at),
            "excluded": self.excluded,
        }


@dataclass(frozen=True)
class Held:
    """What a shop was last sent for a SKU (``price_publications``)."""

    state: str
    """``published``; ``pending`` (a push is under way: not judged); ``never`` (nothing
    was ever written though a price exists: the push failed, see the dead letters)."""
    price: Decimal | None = None
    compare_at: Decimal | None = None
    at: datetime | None = None
    fingerprint: str | None = None
    """The push's fingerprint of what was sent (price, compare-at and native fields)."""


@dataclass(frozen=True)
class Ring:
    """The latest unit price a till rang up for a SKU in a store."""

    amount: Decimal
    currency: str
    ticket_key: str
    connection: str
    rung_at: datetime


@dataclass(frozen=True)
class Finding:
    rule: str
    """``group:<name>``, ``shop_holds`` or ``till``."""
    member: str
    observed: Decimal | None
    expected: Decimal | None
    message: str
    prices: dict[str, dict[str, object]]
    """The prices involved, by member (or ``<member>@held``/``@till``), with their source."""

    @property
    def key(self) -> tuple[str, str]:
        return self.rule, self.member


@dataclass
class SkuParity:
    sku: str
    quotes: dict[str, Quote] = field(default_factory=dict)
    held: dict[str, Held] = field(default_factory=dict)
    rings: dict[str, dict[str, object]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    """Differences the policy allows (intended), as sentences."""
    errors: list[str] = field(default_factory=list)
    unsure: set[tuple[str, str]] = field(default_factory=set)
    """(rule, member) pairs that could not be judged now: their state must not change."""
    excluded: bool = False

    @property
    def judged(self) -> bool:
        """False when nothing about this SKU may change state (an error stopped it)."""
        return not self.errors

    def spread(self) -> tuple[Decimal, Decimal] | None:
        prices = [q.price for q in self.quotes.values() if not q.excluded]
        return (min(prices), max(prices)) if prices else None

    @property
    def verdict(self) -> str:
        if self.excluded:
            return "excluded"
        if self.errors:
            return "error"
        if self.findings:
            return "divergent"
        return "allowed" if self.allowed else "ok"


def _share(fraction: Decimal) -> str:
    """0.1 -> "10"."""
    return format((fraction * 100).normalize(), "f")


def _percent(diff: Decimal, base: Decimal) -> str:
    if not base:
        return ""
    value = (abs(diff) * 100 / base).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value}% {'below' if diff < 0 else 'above'} "


class Evaluator:
    """Judges SKUs for one plan and policy; built once per scan."""

    def __init__(self, plan: MappingPlan, policy: Policy) -> None:
        self.plan, self.policy, self.book = plan, policy, plan.prices
        self.currency = self.book.currency
        self.factors = {name: 1 + rate / 100 for name, rate in plan.spec.taxes.rates.items()}
        self.step = Decimal(1).scaleb(-policy.places)
        lists = {m.price_list for m in policy.stores}
        lists |= {m.price_list for g in policy.groups for m in g.members if m.kind == "list"}
        self.lists = sorted(lists)
        self.list_members = [*policy.stores]
        self.list_members += [m for g in policy.groups for m in g.members if m.kind == "list"]
        self.allowances: dict[tuple[str, str, str], Allowance | None] = {}
        self.builds: dict[str, Callable[[ChannelPrice], dict[str, Any]] | None] = {}

    def basis(self, sku: str, amount: Decimal, tax_included: bool) -> Decimal:
        if not tax_included:
            name = self.book.rate_name(sku)
            if name is None or name not in self.factors:
                raise DataError(
                    f"no tax rate for SKU {sku!r}: its prices cannot be compared tax included"
                )
            amount = amount * self.factors[name]
        return amount.quantize(self.step, ROUND_HALF_UP)

    def evaluate(
        self,
        sku: str,
        prices: Mapping[str, Decimal],
        updated: Mapping[str, datetime] | None = None,
        held: Mapping[str, Held] | None = None,
        rings: Mapping[str, Ring] | None = None,
        now: datetime | None = None,
    ) -> SkuParity:
        """The verdict on one SKU from its price lists, what shops hold and what tills rang."""
        result = SkuParity(sku)
        policy = self.policy
        if policy.excluded_sku(sku):
            result.excluded = True
            return result
        try:
            if self.currency is None:
                raise DataError("prices.currency is not set in the mapping")
            result.quotes = self._quotes(sku, prices)
            self._held(result, held or {})
            for group in policy.groups:
                self._group(result, group)
            if policy.tills.check:
                self._tills(result, rings or {}, updated or {}, now or datetime.now(UTC))
        except DataError as exc:
            result.errors.append(str(exc))
            result.findings.clear()
        return result

    # -- effective prices -----------------------------------------------------------------

    def _quotes(self, sku: str, prices: Mapping[str, Decimal]) -> dict[str, Quote]:
        quotes: dict[str, Quote] = {}
        excluded = self.policy.excluded_lists
        for member in self.policy.channels:
            cp = self.book.channel_price(member.name, sku, prices)
            if cp is None:
                continue
            quotes[member.key] = Quote(
                member, self.basis(sku, cp.price, cp.tax_included), cp.price, cp.tax_included,
                "computed", cp.price_list, cp.compare_at, cp.price_list in excluded, cp,
            )  # fmt: skip
        by_list: dict[str, tuple[str, Decimal, Decimal] | None] = {}
        for name in self.lists:  # stores sharing a list cost one look-up
            found = self.book.resolve(name, prices)
            by_list[name] = None
            if found is not None:
                used, amount = found
                by_list[name] = (used, amount, self.basis(sku, amount, self.book.tax_included))
        for member in self.list_members:
            hit = by_list.get(member.price_list)
            if hit is None or member.key in quotes:
                continue
            used, amount, price = hit
            quotes[member.key] = Quote(
                member, price, amount, self.book.tax_included, "list", used,
                excluded=used in excluded,
            )  # fmt: skip
        return quotes

    # -- what shops hold ------------------------------------------------------------------

    def _held(self, result: SkuParity, held: Mapping[str, Held]) -> None:
        for member in self.policy.channels:
            state = held.get(member.name)
            if state is not None:
                result.held[member.key] = state
            quote = result.quotes.get(member.key)
            if state is None or state.state == "pending":
                result.unsure.add((HELD, member.key))  # not sent yet, or on its way
                continue
            if quote is None or quote.excluded:
                continue
            if state.state == "published":
                price, was = state.price, state.compare_at
                if price is not None and price == quote.native and was == quote.compare_at:
                    continue
                if self._as_sent(member.name, quote, state):
                    continue  # a native field named "price" holds it in another form
                shown = None
                what = "holds what was last sent, not what the mapping computes now:"
                if price is not None:
                    shown = self.basis(result.sku, price, quote.native_tax_included)
                    what = f"holds {price}, the mapping computes"
                    if price == quote.native:
                        what = f"holds the compare-at price {was}, the mapping computes"
                message = (
                    f"{member.name} {what} {quote.native}"
                    + (f" (compare-at {quote.compare_at})" if quote.compare_at else "")
                    + (f"; last sent {state.at.isoformat()}" if state.at else "")
                )
            else:
                shown = None
                message = (
                    f"{member.name} was never sent the price {quote.native} the mapping "
                    "computes (the push failed: see brique deadletters list)"
                )
            prices = {
                member.key: {"price": text(quote.price), "source": "computed"},
                f"{member.key}@held": {"price": text(shown), "source": "held"},
            }
            result.findings.append(Finding(HELD, member.key, shown, quote.price, message, prices))

    def _as_sent(self, connection: str, quote: Quote, state: Held) -> bool:
        """Whether the push would find nothing to write: its own fingerprint check."""
        if quote.computed is None or state.fingerprint is None:
            return False
        build = self.builds.get(connection)
        if build is None and connection not in self.builds:
            build = self.builds[connection] = self.plan.price_fields(connection)
        cp = quote.computed
        fields = {} if build is None else build(cp)
        return (
            fingerprint({"price": cp.price, "compare_at": cp.compare_at, "fields": fields})
            == state.fingerprint
        )

    # -- groups -----------------------------------------------------------------------------

    def _group(self, result: SkuParity, group: Group) -> None:
        quotes = [
            result.quotes[m.key]
            for m in group.members
            if m.key in result.quotes and not result.quotes[m.key].excluded
        ]
        if len(quotes) < 2:
            return
        allowed = {q.member.key: self._allowance(group, q) for q in quotes}
        base, why = self._baseline(group, quotes, allowed)
        slack = group.tolerance.slack(base)
        at_base = [q for q in quotes if q.price == base]
        for quote in quotes:
            diff = quote.price - base
            if abs(diff) <= slack:
                continue
            allow = allowed[quote.member.key]
            if allow is not None:
                low = base * (1 - allow.cheaper_by) - slack
                high = base * (1 + allow.dearer_by) + slack
                if low <= quote.price <= high:
                    result.allowed.append(
                        f"{quote.member.key} at {quote.price} is {_percent(diff, base)}{base} in "
                        f"group '{group.name}' (intended: up to "
                        f"{_share(allow.cheaper_by)}% cheaper, {_share(allow.dearer_by)}% dearer)"
                    )
                    continue
            shown = [q for q in at_base if q is not quote][:_SHOWN_AT_BASE]
            prices = {quote.member.key: _involved(quote)}
            prices.update({q.member.key: _involved(q) for q in shown})
            others = len(at_base) - len(shown)
            more = f" and {others} more" if others > 0 else ""
            message = (
                f"{quote.member.key} is {quote.price}, {_percent(diff, base)}{base} "
                f"({why}{more}) in group '{group.name}'; tolerance {group.tolerance.describe()}"
            )
            if allow is not None:
                message += (
                    f", intended difference up to {_share(allow.cheaper_by)}% cheaper and "
                    f"{_share(allow.dearer_by)}% dearer"
                )
            result.findings.append(
                Finding(f"group:{group.name}", quote.member.key, quote.price, base, message, prices)
            )

    def _allowance(self, group: Group, quote: Quote) -> Allowance | None:
        """The policy's allowance for a member, looked up once per (group, member, list)."""
        key = (group.name, quote.member.key, quote.price_list)
        if key not in self.allowances:
            self.allowances[key] = self.policy.allowance(group.name, quote.member, key[2])
        return self.allowances[key]

    @staticmethod
    def _baseline(
        group: Group, quotes: list[Quote], allowed: Mapping[str, object]
    ) -> tuple[Decimal, str]:
        """The reference's price, else the price most members agree on (members with an
        intended difference do not vote); a tie goes to the first member in group order."""
        if group.reference is not None:
            reference = group.reference.key
            for quote in quotes:
                if quote.member.key == reference:
                    return quote.price, f"the reference {quote.member.key}"
        voters = [q for q in quotes if allowed[q.member.key] is None] or quotes
        counts = Counter(q.price for q in voters)
        top = max(counts.values())
        base = next(q.price for q in voters if counts[q.price] == top)
        return base, f"the price of {top} of {len(voters)} members"

    # -- what tills ring up -----------------------------------------------------------------

    def _tills(
        self,
        result: SkuParity,
        rings: Mapping[str, Ring],
        updated: Mapping[str, datetime],
        now: datetime,
    ) -> None:
        tills = self.policy.tills
        for member in self.policy.stores:
            ring = rings.get(member.name)
            quote = result.quotes.get(member.key)
            if ring is None or quote is None or quote.excluded:
                continue
            rung_at = utc(ring.rung_at)
            changed = updated.get(quote.price_list)
            judged = (
                ring.currency == self.currency
                and rung_at >= now - tills.within
                and (changed is None or rung_at >= utc(changed) + tills.grace)
            )
            price = self.basis(result.sku, ring.amount, tills.tax_included)
            result.rings[member.key] = {
                "price": text(price),
                "native": text(ring.amount),
                "currency": ring.currency,
                "ticket": ring.ticket_key,
                "connection": ring.connection,
                "rung_at": rung_at.isoformat(),
                "judged": judged,
            }
            if not judged:
                continue  # too old, before the list changed (plus grace), or another currency
            if abs(price - quote.price) <= self.policy.tolerance.slack(quote.price):
                continue
            off = _percent(price - quote.price, quote.price)
            message = (
                f"a till at {member.name} rang {price}, {off}"
                f"its list price {quote.price} (list {quote.price_list}; ticket "
                f"{ring.ticket_key}, {rung_at.isoformat()})"
            )
            prices = {
                member.key: _involved(quote),
                f"{member.key}@till": {"price": text(price), "source": "till",
                                       "ticket": ring.ticket_key},
            }  # fmt: skip
            result.findings.append(Finding(TILL, member.key, price, quote.price, message, prices))


def _involved(quote: Quote) -> dict[str, object]:
    return {"price": text(quote.price), "source": quote.source, "price_list": quote.price_list}
