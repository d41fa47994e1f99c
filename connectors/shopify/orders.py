"""Shopify orders (``orders/create``, ``orders/updated``, ``orders/cancelled``) as web sales.

An order decodes to its sale, keyed by the order id (so every version of one order is one
ticket, whatever the topic that delivered it), followed by one return sale per refund it
carries, Brique's own refunds excepted: an updated order and the ``refunds/create`` webhook
of the same refund decode to the same return, key and content (see ``refunds``).

Shopify's order webhook carries no ``transactions``; the payment then comes from
``payment_gateway_names`` and what is not outstanding. A payload that does carry
``transactions`` (an order read with them) gives one tender per successful payment. Taxes
(``tax_lines``, ``taxes_included``) have no place in the canonical sale: prices are kept as
Shopify shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import Money, Sale, SaleBody, SaleLine, SaleStatus, Tender, TicketKey
from connectors.shopify.payloads import (
    CHANNEL,
    customer_ref,
    decimal,
    handoff_code,
    money,
    optional_decimal,
    parse_timestamp,
    required,
    rest_id,
    text_id,
)
from connectors.shopify.refunds import decode_refund

PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded", "authorized"})
"""``financial_status`` values meaning the total was paid (or authorised) when an order
does not say what is outstanding."""
PAYMENT_KINDS = ("sale", "capture")
DEFAULT_GATEWAY = "shopify"


def decode_order(payload: Mapping[str, Any], store: str) -> list[SaleBody]:
    """An order -> its web sale, then one return sale per refund in ``refunds``."""
    order_id = rest_id(required(payload, "id"))
    currency = payload.get("currency") or payload.get("presentment_currency")
    if not currency:
        raise DataError(f"order {order_id} has no currency")
    try:
        lines = tuple(
            _line(order_id, raw, currency, position)
            for position, raw in enumerate(payload.get("line_items") or (), start=1)
        )
        sale = Sale(
            key=TicketKey(store=store, transaction_id=order_id),
            status=order_status(payload),
            occurred_at=parse_timestamp(payload.get("created_at")),
            currency=currency,
            lines=lines,
            tenders=_tenders(order_id, payload, currency),
            total=money(payload.get("total_price"), currency, "total_price"),
            customer=customer_ref(payload),
            channel=CHANNEL,
            basket=order_basket(payload),
        )
    except ValidationError as exc:
        raise DataError(f"order {order_id}: {exc}") from exc
    bodies = [SaleBody(sale=sale)]
    by_id = {
        str(raw.get("id")): raw for raw in payload.get("line_items") or () if isinstance(raw, dict)
    }
    for refund in payload.get("refunds") or ():
        if not isinstance(refund, Mapping):
            raise DataError(f"order {order_id}: a refund is not an object")
        # A refund inside an order may leave out order_id: it is this order's.
        full = refund if refund.get("order_id") else {**refund, "order_id": order_id}
        bodies += decode_refund(full, store, lambda: currency, by_id)
    return bodies


def order_status(payload: Mapping[str, Any]) -> SaleStatus:
    """Cancelled once ``cancelled_at`` is set, training for test orders, else completed.

    Shopify commits stock when the order is placed, paid or not, so an open order is a
    completed sale; its refunds are separate return sales."""
    if payload.get("cancelled_at"):
        return SaleStatus.CANCELLED
    if payload.get("test") is True:
        return SaleStatus.TRAINING
    return SaleStatus.COMPLETED


def order_basket(payload: Mapping[str, Any]) -> str | None:
    """The basket the order completes: Brique's handoff code (the ``brique_code`` cart
    attribute, copied to the order's ``note_attributes``), else the cart token, else the
    checkout token."""
    return (
        handoff_code(payload)
        or text_id(payload.get("cart_token"))
        or text_id(payload.get("checkout_token"))
    )


def _line(order_id: str, raw: Any, currency: str, position: int) -> SaleLine:
    if not isinstance(raw, Mapping):
        raise DataError(f"order {order_id}: line {position} is not an object")
    line_no = str(raw.get("id") or position)
    sku = raw.get("sku")
    if sku is None or str(sku).strip() == "":
        raise DataError(
            f"order {order_id}: line {line_no} ({raw.get('title') or raw.get('name') or '?'}) "
            "has no SKU; give the variant a SKU in Shopify"
        )
    quantity = decimal(raw.get("quantity"), f"line {line_no} quantity")
    price = optional_decimal(raw.get("price"), f"line {line_no} price")
    discount = line_discount(raw, f"order {order_id} line {line_no}")
    amount = None if price is None else price * quantity - discount
    return SaleLine(
        line_no=line_no,
        sku=str(sku),
        quantity=quantity,
        unit_price=None if price is None else Money(amount=price, currency=currency),
        amount=None if amount is None else Money(amount=amount, currency=currency),
        discount=Money(amount=discount, currency=currency) if discount else None,
        description=str(raw.get("name") or raw.get("title") or ""),
    )


def line_discount(raw: Mapping[str, Any], what: str) -> Decimal:
    """What discounts took off a line: the sum of its ``discount_allocations`` (order-level
    discounts spread on lines, as Shopify recommends reading them), else ``total_discount``."""
    allocations = raw.get("discount_allocations")
    if isinstance(allocations, list) and allocations:
        total = Decimal(0)
        for allocation in allocations:
            if isinstance(allocation, Mapping):
                total += decimal(allocation.get("amount"), f"{what} discount allocation")
        return total
    return decimal(raw.get("total_discount") or "0", f"{what} total_discount")


def _tenders(order_id: str, payload: Mapping[str, Any], currency: str) -> tuple[Tender, ...]:
    transactions = payload.get("transactions")
    if isinstance(transactions, list):
        return _transaction_tenders(order_id, transactions, currency)
    total = optional_decimal(payload.get("total_price"), f"order {order_id} total_price")
    if total is None:
        return ()
    outstanding = optional_decimal(
        payload.get("total_outstanding"), f"order {order_id} total_outstanding"
    )
    if outstanding is not None:
        paid = total - outstanding
    elif payload.get("financial_status") in PAID_STATUSES:
        paid = total
    else:
        paid = Decimal(0)
    if paid <= 0:
        return ()
    gateways = [str(g) for g in payload.get("payment_gateway_names") or () if g]
    # Several gateways (a gift card and a card, say) share one tender: the webhook does not
    # say how the total was split between them.
    kind = "+".join(gateways) or DEFAULT_GATEWAY
    return (Tender(kind=kind, amount=Money(amount=paid, currency=currency)),)


def _transaction_tenders(
    order_id: str, transactions: list[Any], currency: str
) -> tuple[Tender, ...]:
    """Successful sales and captures (authorisations when nothing was captured yet); cash
    change given back is a refund tender. Refund transactions belong to the return sales."""
    ok = [
        t
        for t in transactions
        if isinstance(t, Mapping) and t.get("status", "success") == "success"
    ]
    paid = [t for t in ok if t.get("kind") in PAYMENT_KINDS]
    if not paid:
        paid = [t for t in ok if t.get("kind") == "authorization"]
    tenders = [_tender(order_id, t, currency, refund=False) for t in paid]
    change = [t for t in ok if t.get("kind") == "change"]
    tenders += [_tender(order_id, t, currency, refund=True) for t in change]
    return tuple(tenders)


def _tender(order_id: str, raw: Mapping[str, Any], currency: str, *, refund: bool) -> Tender:
    amount = decimal(raw.get("amount"), f"order {order_id} transaction {raw.get('id')} amount")
    return Tender(
        kind=str(raw.get("gateway") or DEFAULT_GATEWAY),
        amount=Money(amount=abs(amount), currency=str(raw.get("currency") or currency)),
        refund=refund,
    )
