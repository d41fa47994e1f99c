"""Tender line items: what paid for a ticket, change handed back, cash rounding."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bridge.model import Money, Tender
from connectors.poslog.elements import _child, _children, _currency_attr, _decimal


def _tender(el: Any, currency: str, counts: Counter[str]) -> list[Tender]:
    """The payment of one Tender line item (or Visma's cash rounding), then its change."""
    kind = (el.get("TenderType") or "").strip()
    refund = (el.get("TypeCode") or "").strip().lower() == "refund"
    result: list[Tender] = []
    amount_el = _child(el, "Amount")
    if amount_el is not None and (amount_el.text or "").strip():
        result.append(
            Tender(
                kind=kind or "unknown",
                amount=Money(
                    amount=_decimal(amount_el, "Tender Amount"),
                    currency=_currency_attr(amount_el) or _currency_attr(el) or currency,
                ),
                refund=refund,
            )
        )
    elif not kind:
        # Visma: <Tender><Rounding RoundingDirection="Up">0.12</Rounding></Tender>. Cash
        # was rounded up, so the customer paid 0.12 more than the ticket: record -0.12
        # so tenders still add up to what the ticket cost.
        rounding = _child(el, "Rounding")
        if rounding is not None and (rounding.text or "").strip():
            value = _decimal(rounding, "Tender Rounding")
            up = (rounding.get("RoundingDirection") or "").strip().lower() == "up"
            result.append(
                Tender(
                    kind="rounding",
                    amount=Money(
                        amount=value.copy_negate() if up else value,
                        currency=_currency_attr(rounding) or currency,
                    ),
                )
            )
    paid = result[0].amount.amount if result and result[0].kind != "rounding" else None
    for change in _children(el, "TenderChange"):
        changes = _change(change, kind, currency, Counter())
        if paid is not None and (paid < 0 or any(c.amount.amount == paid for c in changes)):
            # NCR ACS writes the change as its own negative Tender and repeats it in a
            # nested TenderChange: an echo, not a second movement of cash.
            continue
        counts["tender_changes"] += len(changes)
        result.extend(changes)
    return result


def _change(el: Any, kind: str | None, currency: str, counts: Counter[str]) -> list[Tender]:
    """Change handed back, possibly nested (roqqio: TenderChange/TenderChange/Amount)."""
    kind = (el.get("TenderType") or "").strip() or kind
    result: list[Tender] = []
    amount_el = _child(el, "Amount")
    if amount_el is not None and (amount_el.text or "").strip():
        counts["tender_changes"] += 1
        result.append(
            Tender(
                kind=kind or "Cash",
                amount=Money(
                    amount=_decimal(amount_el, "TenderChange Amount"),
                    currency=_currency_attr(amount_el) or currency,
                ),
                refund=True,
            )
        )
    for inner in _children(el, "TenderChange"):
        result.extend(_change(inner, kind, currency, counts))
    return result
