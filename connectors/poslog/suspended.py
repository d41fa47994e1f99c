"""Suspended and resumed POSLog transactions: a basket parked at a till, then finished.

ARTS marks a parked basket with ``RetailTransaction@TransactionStatus="Suspended"``; the
transaction that finishes it links back with ``TransactionLink@ReasonCode="Resume"`` (NCR
ACS in the corpus: ``<TransactionLink ReasonCode="Resume">`` naming the suspending till's
store, workstation, business day and sequence number).

Both sides name the suspended transaction alike (``suspended_id``): its ``TransactionID``
when it has one (Brique's handed-off baskets carry the handoff code there, see
``handoff``), else ``store/workstation/day/sequence``. So a suspended transaction is read
as a store basket with that id (never as a sale: it moves no stock and is no fiscal
sale), and the completing transaction's ``Sale.basket`` is the same id.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.connector import InboundEvent
from bridge.model import Basket, BasketLine, BasketStatus, Sale
from connectors.poslog.elements import _child, _children, _date, _store_id, _text

KIND = "basket"
RESUME_REASONS = ("resume", "resumed")


def suspended_id(
    store: str | None,
    workstation: str | None,
    day: date | None,
    sequence: str | None,
    transaction_id: str | None,
) -> str | None:
    """The id both a suspended transaction and the link resuming it give the basket."""
    if transaction_id:
        return transaction_id
    if not sequence or not store:
        return None
    return f"{store}/{workstation or '-'}/{day.isoformat() if day else '-'}/{sequence}"


def resumed_basket(tx: Any, retail: Any) -> str | None:
    """``Sale.basket`` of a transaction that resumes a suspended one, else None."""
    for link in _children(retail, "TransactionLink") + _children(tx, "TransactionLink"):
        reason = (link.get("ReasonCode") or "").rpartition(":")[2].strip().lower()
        if reason not in RESUME_REASONS:
            continue
        return suspended_id(
            _store_id(link) or _store_id(tx),
            _text(link, "WorkstationID"),
            _date(_child(link, "BusinessDayDate")),
            _text(link, "SequenceNumber"),
            _text(link, "TransactionID"),
        )
    return None


def basket_event(sale: Sale) -> InboundEvent | None:
    """A suspended ticket as a store basket event; None when it holds nothing to sell."""
    key = sale.key
    basket_id = suspended_id(
        key.store, key.workstation, key.business_day, key.sequence, key.transaction_id
    )
    lines = tuple(
        BasketLine(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
        for line in sale.lines
        if not line.voided and line.quantity > 0
    )
    if basket_id is None or not lines:
        return None
    basket = Basket(
        basket_id=basket_id,
        channel="store",
        status=BasketStatus.ACTIVE,
        currency=sale.currency,
        lines=lines,
        customer=sale.customer,
        created_at=sale.occurred_at,
        updated_at=sale.occurred_at,
        code=key.transaction_id,
        location=key.store,
    )
    return InboundEvent(
        key=f"suspended/{key.as_string()}",
        kind=KIND,
        payload=basket.model_dump(mode="json"),
        occurred_at=sale.occurred_at,
    )
