"""What a sale earns and spends under the mapping's ``loyalty:`` rules: pure, no database.

* A till listed as ``stated`` under ``points_from`` is believed: the points it recorded on the
  ticket (``Sale.loyalty``) are the ledger's entries, earned and redeemed alike.
* Otherwise each line earns ``amount x points_per_unit``, rounded per line (``rounding``), so
  a returned line takes back exactly what it earned. Excluded SKUs and categories earn
  nothing. A return line linked to its sale takes back that line's points, prorated by the
  quantity returned and never more than is left; an unlinked one is computed from its refund.
* Points are spent by the till's stated redemptions, else by tenders of the ``redeem``
  kinds: ``amount / point_value`` points, rounded up (a redemption never costs less than it
  bought); a refunded loyalty tender gives them back.

Only completed sales of an earning channel count; a sale in another currency than the
program's earns and spends nothing (the caller logs the note).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)

from bridge.mapping.loyaltyspec import MAX_PLACES, LoyaltySpec
from bridge.model import Sale, SaleLine, SaleStatus, TicketKey
from bridge.model.sale import TicketLink

ZERO = Decimal(0)

# On a magnitude, floor is down and ceiling is up: points round the same way for a sale
# and for its return.
_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
}
STORED = Decimal(1).scaleb(-MAX_PLACES)


@dataclass(frozen=True)
class Original:
    """What the ledger holds for a line a return links to."""

    earned: Decimal
    """Points that line earned (0 when its sale earned nothing on it)."""
    quantity: Decimal
    """The quantity sold on that line."""
    reversed: Decimal
    """Points returns already took back from it (zero or negative)."""
    returned: Decimal = ZERO
    """The quantity already returned from it (zero or positive)."""


Lookup = Callable[[str, str], Original | None]
"""(original ticket key, line number) -> what it earned, or None for an unknown ticket."""


@dataclass(frozen=True)
class Change:
    """One ledger entry a sale makes, before it is attached to a customer."""

    ref: str
    """The entry's key within the ticket (``line:3``, ``stated:5``, ``tender:2``)."""
    kind: str
    origin: str
    points: Decimal
    line_no: str | None = None
    quantity: Decimal | None = None
    basis: Decimal | None = None
    link_key: str | None = None
    reason: str = ""


def link_key(ticket: str, line: str) -> str:
    return f"{ticket}#{line}"


def _round(value: Decimal, places: int, mode: str) -> Decimal:
    """Round the magnitude, keep the sign: -19.99 points down is -19, as 19.99 is 19."""
    step = Decimal(1).scaleb(-places)
    magnitude = value.copy_abs().quantize(step, rounding=_MODES[mode])
    return magnitude if value >= 0 else -magnitude


def _stored(points: Decimal) -> Decimal:
    """Points as the ledger keeps them (four decimals at most, half even)."""
    return points.quantize(STORED, rounding=ROUND_HALF_EVEN)


def _link_ticket(link: TicketLink, sale: Sale) -> str | None:
    if link.sequence is None and link.transaction_id is None:
        return None
    try:
        key = TicketKey(
            store=link.store or sale.key.store,
            workstation=link.workstation,
            business_day=link.business_day,
            sequence=link.sequence,
            transaction_id=link.transaction_id,
        )
    except ValueError:
        return None
    return key.as_string()


class LoyaltyRules:
    """The ``loyalty:`` section, ready to apply; ``category_of`` is ``products.categories``."""

    def __init__(self, spec: LoyaltySpec, category_of: Mapping[str, str]) -> None:
        self.spec = spec
        self.category_of = category_of
        self._skus = frozenset(spec.exclude.skus)
        self._categories = frozenset(spec.exclude.categories)
        self._redeem = frozenset(spec.redeem.tenders)

    def mode(self, connection: str) -> str:
        return self.spec.points_from.get(connection, "computed")

    def excluded(self, sku: str) -> bool:
        return sku in self._skus or self.category_of.get(sku) in self._categories

    def points(self, amount: Decimal) -> Decimal:
        """The points an amount earns (signed like the amount)."""
        rounding = self.spec.rounding
        return _round(amount * self.spec.points_per_unit, rounding.places, rounding.mode)

    def for_sale(
        self, connection: str, sale: Sale, original: Lookup | None = None
    ) -> tuple[list[Change], list[str]]:
        """The entries ``sale`` makes, and notes saying why (part of) it counts for nothing."""
        if sale.status is not SaleStatus.COMPLETED:
            return [], [f"a {sale.status.value} sale earns and spends nothing"]
        if sale.channel not in self.spec.channels:
            return [], [f"channel {sale.channel!r} does not earn (loyalty.channels)"]
        currency = self.spec.currency
        if currency is not None and sale.currency != currency:
            return [], [f"sale in {sale.currency}, the program counts {currency}"]
        if self.mode(connection) == "stated":
            return self._stated(sale), []
        changes: list[Change] = []
        notes: list[str] = []
        ticket = sale.key.as_string()
        for line in sale.lines:
            change = self._line(line, sale, ticket, original, notes)
            # A linked return is kept even at 0 points: its quantity counts for the next.
            if change is not None and (change.points != 0 or change.link_key is not None):
                changes.append(change)
        changes += self._redemptions(sale)
        return changes, notes

    # -- stated by the till -----------------------------------------------------------------

    def _stated(self, sale: Sale) -> list[Change]:
        changes = []
        for index, entry in enumerate(sale.loyalty, start=1):
            points = _stored(entry.points)
            if points == 0:
                continue
            earned = entry.kind == "earned"
            changes.append(
                Change(
                    ref=f"stated:{entry.line_no or index}:{entry.kind}",
                    kind="earn" if earned else "redeem",
                    origin="stated",
                    points=points if earned else -points,
                    line_no=entry.line_no,
                    basis=None if entry.value is None else entry.value.amount,
                    reason=f"{entry.kind} on the ticket"
                    + (f" (program {entry.program})" if entry.program else ""),
                )
            )
        return changes

    # -- computed by the rules --------------------------------------------------------------

    def _line(
        self,
        line: SaleLine,
        sale: Sale,
        ticket: str,
        original: Lookup | None,
        notes: list[str],
    ) -> Change | None:
        if line.voided or line.quantity == 0:
            return None
        if self.excluded(line.sku):
            return None
        amount = line.amount.amount if line.amount is not None else None
        if amount is None and line.unit_price is not None:
            amount = line.unit_price.amount * line.quantity
        if amount is None:
            notes.append(f"line {line.line_no}: no amount to earn on")
            return None
        returned = line.is_return or line.quantity < 0 or amount < 0
        if not returned:
            return Change(
                ref=f"line:{line.line_no}",
                kind="earn",
                origin="computed",
                points=self.points(amount),
                line_no=line.line_no,
                quantity=line.quantity,
                basis=amount,
                reason=f"{amount} x {self.spec.points_per_unit}",
            )
        if self.spec.returns == "ignore":
            return None
        reference = _link_ticket(line.link, sale) if line.link and line.link.line else None
        found = None
        if reference is not None and original is not None and line.link is not None:
            assert line.link.line is not None
            found = original(reference, line.link.line)
        if found is not None:
            assert line.link is not None and line.link.line is not None and reference is not None
            # Prorated on the quantity returned so far, so the last unit back takes back
            # exactly what is left: per-return rounding never strands a point.
            sold = found.quantity.copy_abs()
            back = found.returned + line.quantity.copy_abs()
            target = found.earned
            if sold != 0 and back < sold:
                rounding = self.spec.rounding
                target = _round(found.earned * back / sold, rounding.places, rounding.mode)
            already = -found.reversed
            taken = max(ZERO, min(target, found.earned) - already)
            return Change(
                ref=f"line:{line.line_no}",
                kind="return",
                origin="computed",
                points=-taken,
                line_no=line.line_no,
                quantity=line.quantity,
                basis=amount,
                link_key=link_key(reference, line.link.line),
                reason=f"returns {line.quantity.copy_abs()} of {reference} line {line.link.line}",
            )
        return Change(
            ref=f"line:{line.line_no}",
            kind="return",
            origin="computed",
            points=-self.points(amount.copy_abs()),
            line_no=line.line_no,
            quantity=line.quantity,
            basis=amount,
            reason=f"refund {amount} x {self.spec.points_per_unit}",
        )

    def _redemptions(self, sale: Sale) -> list[Change]:
        stated = [e for e in sale.loyalty if e.kind == "redeemed"]
        if stated:
            return [
                Change(
                    ref=f"stated:{e.line_no or index}:redeemed",
                    kind="redeem",
                    origin="stated",
                    points=-_stored(e.points),
                    line_no=e.line_no,
                    basis=None if e.value is None else e.value.amount,
                    reason="redeemed on the ticket",
                )
                for index, e in enumerate(sale.loyalty, start=1)
                if e.kind == "redeemed" and _stored(e.points) != 0
            ]
        value = self.spec.redeem.point_value
        if not self._redeem or value is None:
            return []
        changes = []
        for index, tender in enumerate(sale.tenders, start=1):
            if tender.kind not in self._redeem or tender.amount.amount == 0:
                continue
            paid = tender.amount.amount.copy_abs()
            points = _round(paid / value, self.spec.rounding.places, "up")
            changes.append(
                Change(
                    ref=f"tender:{index}",
                    kind="redeem",
                    origin="computed",
                    points=points if tender.refund else -points,
                    basis=paid,
                    reason=f"{'refund of ' if tender.refund else ''}{paid} paid with points "
                    f"worth {value}",
                )
            )
        return changes
