"""Loyalty points a till recorded on a ticket: ``LoyaltyReward`` and ``LoyaltyRedemption`` lines.

ARTS names the line items; producers fill them their own way, so the points are read from
the first child (or ``LoyaltyAccount/LoyaltyProgram``/``LoyaltyProgram`` grandchild) with a
points name, matched by local name. A reward line without points is a promotion the till
applied (NCR ACS writes its monetary and message rewards as ``LoyaltyReward``): it is no
points entry and is left out. Visma's per-item ``LoyaltyAccount/LoyaltyProgram/Points
Type="...LoyaltyEligible"`` says what a line *could* earn, not what it earned: not read.
"""

from __future__ import annotations

from typing import Any

from bridge.model import Money
from bridge.model.sale import LoyaltyEntry
from connectors.poslog.elements import _child, _currency_attr, _decimal, _local, _text

LOYALTY_ITEMS = {"LoyaltyReward": "earned", "LoyaltyRedemption": "redeemed"}
"""Line item body local name -> entry kind."""
POINTS = (
    "PointsAwarded",
    "PointsEarned",
    "PointsRedeemed",
    "RedeemedPoints",
    "PointsUsed",
    "Points",
)
CARDS = ("LoyaltyID", "LoyaltyAccountID", "LoyaltyCardNumber", "CardNumber", "MembershipID")
PROGRAMS = ("LoyaltyProgramID", "ProgramID")
VALUES = ("RedemptionAmount", "RedeemedAmount", "Amount")


def _points_element(body: Any) -> Any:
    found = _child(body, *POINTS)
    if found is not None:
        return found
    account = _child(body, "LoyaltyAccount")
    for holder in (_child(account, "LoyaltyProgram"), _child(body, "LoyaltyProgram")):
        found = _child(holder, *POINTS)
        if found is not None:
            return found
    return None


def loyalty_entry(item: Any, body: Any, position: int, currency: str) -> LoyaltyEntry | None:
    """The points entry of one LoyaltyReward/LoyaltyRedemption body, None without points.

    Unreadable points reject the transaction (``_Reject``) like any unreadable amount.
    """
    points_el = _points_element(body)
    if points_el is None or not (points_el.text or "").strip():
        return None
    line_no = _text(item, "SequenceNumber") or str(position)
    kind = LOYALTY_ITEMS[_local(body)]
    points = _decimal(points_el, f"LineItem {line_no} {_local(body)} {_local(points_el)}")
    account = _child(body, "LoyaltyAccount")
    card = None
    for holder in (body, account):
        if card is None and holder is not None:
            card = _text(_child(holder, *CARDS)) or _text(
                holder, "LoyaltyCard", "PrimaryAccountNumber"
            )
    value = None
    value_el = _child(body, *VALUES)
    if value_el is not None and (value_el.text or "").strip():
        amount = _decimal(value_el, f"LineItem {line_no} {_local(body)} {_local(value_el)}")
        value = Money(amount=amount, currency=_currency_attr(value_el) or currency)
    return LoyaltyEntry(
        kind=kind,  # type: ignore[arg-type]
        points=points,
        card=card,
        line_no=line_no,
        program=_text(_child(body, *PROGRAMS)) or _text(_child(account, *PROGRAMS)),
        value=value,
    )
