"""What the customer paid online against what the store gave back.

Both sides are put on one tax basis first: the store's, which is the mapping's
``prices.tax_included`` (the basis of the price lists, hence of the shelf price the till
refunds). A web line that excludes tax gets its own stated tax back (WooCommerce, Magento,
Shopify without ``taxes_included``), else the SKU's rate from the mapping; a SKU without a
rate leaves the difference not computed rather than guessed. Another currency on either side
is flagged and never converted. Amounts are exact Decimals, rounded once per line to cents
(half up) after the proportions are taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.mapping.plan import MappingPlan
from bridge.returns.tables import WebOrder, WebOrderLine
from bridge.store.tables import PriceRow

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Returned:
    """One store return line and the web lines its units came from (line, units)."""

    line_no: str
    sku: str
    quantity: Decimal
    amount: Decimal | None
    """What the till refunded for the line (positive), when the ticket says."""
    unit_price: Decimal | None
    allocations: Sequence[tuple[WebOrderLine, Decimal]]


@dataclass
class LineResult:
    line_no: str
    sku: str
    quantity: Decimal
    paid: Decimal | None = None
    refunded: Decimal | None = None
    store_price: Decimal | None = None
    """The store's unit price (its price list, as stored)."""
    note: str | None = None


@dataclass
class Comparison:
    status: str
    """none, flagged, refunded_more, currency_mismatch, not_computed."""
    currency: str
    paid: Decimal | None = None
    refunded: Decimal | None = None
    difference: Decimal | None = None
    cause: str | None = None
    lines: list[LineResult] = field(default_factory=list)


def compare(
    s: Session,
    plan: MappingPlan,
    location: str,
    currency: str,
    order: WebOrder,
    returned: Sequence[Returned],
) -> Comparison:
    """Compare each returned line's online price with the store's refund and shelf price."""
    lines = [LineResult(r.line_no, r.sku, r.quantity) for r in returned]
    if currency != order.currency:
        return Comparison(
            "currency_mismatch",
            currency,
            cause=f"the store refunded in {currency}, the order was paid in {order.currency}",
            lines=lines,
        )
    basis = plan.prices.tax_included
    problems: list[str] = []
    for result, item in zip(lines, returned, strict=True):
        result.store_price = _store_price(s, plan, location, item.sku, currency)
        result.paid = _paid(plan, order, item, basis, problems)
        if item.amount is not None:
            result.refunded = item.amount
        elif item.unit_price is not None:
            result.refunded = item.unit_price * item.quantity
        elif result.store_price is not None:
            result.refunded = result.store_price * item.quantity
            result.note = "the ticket states no amount: the store's price stands for the refund"
        else:
            problems.append(f"line {item.line_no}: the ticket states no refunded amount")
        result.paid = _cents(result.paid)
        result.refunded = _cents(result.refunded)
    if problems:
        return Comparison("not_computed", currency, cause="; ".join(problems), lines=lines)
    paid = sum((r.paid for r in lines if r.paid is not None), Decimal(0))
    refunded = sum((r.refunded for r in lines if r.refunded is not None), Decimal(0))
    difference = paid - refunded
    comparison = Comparison("none", currency, paid, refunded, difference, lines=lines)
    if difference > 0:
        comparison.status = "flagged"
        lower = [
            r.sku
            for r in lines
            if r.store_price is not None
            and r.paid is not None
            and _cents(r.store_price * r.quantity) < r.paid  # type: ignore[operator]
        ]
        comparison.cause = (
            f"the store's price is lower than the online price ({', '.join(lower)})"
            if lower
            else "the store refunded less than the customer paid online"
        )
    elif difference < 0:
        comparison.status = "refunded_more"
        comparison.cause = "the store refunded more than the customer paid online"
    return comparison


def _paid(
    plan: MappingPlan, order: WebOrder, item: Returned, basis: bool, problems: list[str]
) -> Decimal | None:
    """The online price of the returned units, on the store's tax basis."""
    total = Decimal(0)
    for web, units in item.allocations:
        if web.paid is None:
            problems.append(f"web line {web.line_no}: the order states no price")
            return None
        share = units / (Decimal(web.quantity_e4) / 10000)
        amount = Decimal(web.paid) * share
        if order.tax_included is not None and order.tax_included != basis:
            if not order.tax_included and web.tax is not None:
                amount += Decimal(web.tax) * share
            else:
                rate = _rate(plan, item.sku)
                if rate is None:
                    problems.append(
                        f"SKU {item.sku}: the order's amounts "
                        f"{'exclude' if not order.tax_included else 'include'} tax and the "
                        "mapping has no tax rate for it"
                    )
                    return None
                factor = 1 + rate / 100
                amount = amount * factor if not order.tax_included else amount / factor
        total += amount
    return total


def _rate(plan: MappingPlan, sku: str) -> Decimal | None:
    name = plan.prices.rate_name(sku)
    return None if name is None else plan.spec.taxes.rates.get(name)


def _store_price(
    s: Session, plan: MappingPlan, location: str, sku: str, currency: str
) -> Decimal | None:
    """The store's shelf price for the SKU (its list, then the fallbacks); None if unknown
    or held in another currency."""
    rows = s.execute(
        select(PriceRow.price_list, PriceRow.amount, PriceRow.currency).where(PriceRow.sku == sku)
    ).all()
    prices: Mapping[str, Decimal] = {
        row.price_list: Decimal(row.amount) for row in rows if row.currency == currency
    }
    found = plan.prices.store_price(location, sku, prices)
    return None if found is None else found[1]


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)
