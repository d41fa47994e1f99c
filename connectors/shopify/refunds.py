"""Shopify refunds as canonical return sales, the same whichever way they arrive.

A refund reaches Brique twice: as a ``refunds/create`` webhook and inside the order
(``orders/updated``, ``orders/cancelled``, an order read again later). Both decode here,
from the refund object alone, to one return sale keyed ``refund-<refund id>``: the journal
keeps the first and the second changes nothing. For that reason nothing is taken from the
order that the webhook lacks: no customer (the linked order carries it) and the order's
currency only when the refund names none.

A refund Brique wrote itself (the ``returns`` sink records a store return of a web order as
a refund whose note carries ``returns.marker``) is an echo: the store's own return ticket
already says it, so it decodes to nothing (invariant 3, no ping-pong).

Lines: one per ``refund_line_items`` entry, negative quantity, ``is_return``, linked to the
order's line (``TicketLink`` with ``order_reference`` = the order id). Tenders: the refund's
successful ``refund`` transactions. The refund's ``restock_type`` and restock location have
no field in ``SaleLine`` and are not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import Money, Sale, SaleBody, SaleLine, SaleStatus, Tender, TicketKey, TicketLink
from connectors.shopify.payloads import (
    CHANNEL,
    decimal,
    optional_decimal,
    parse_timestamp,
    required,
    rest_id,
    set_currency,
    text_id,
)
from connectors.shopify.returns import marker

DEFAULT_GATEWAY = "shopify"
ECHO_PREFIX = marker("")[:-1]
"""The start of the marker the ``returns`` sink writes in its refunds' notes."""


def refund_key(refund_id: str) -> str:
    """The return sale's transaction id: one per Shopify refund, whatever delivered it."""
    return f"refund-{refund_id}"


def is_echo(refund: Mapping[str, Any]) -> bool:
    """Whether Brique's ``returns`` sink wrote this refund."""
    return ECHO_PREFIX in str(refund.get("note") or "")


def decode_refund(
    refund: Mapping[str, Any],
    store: str,
    default_currency: Callable[[], str | None],
    order_lines: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[SaleBody]:
    """One refund -> one return sale linked to its order; none for Brique's own refunds.

    ``default_currency`` is asked only when neither the refunded lines nor the transactions
    name a currency; ``order_lines`` (line id -> order line) stands in for a refund line that
    leaves out its ``line_item``."""
    if is_echo(refund):
        return []
    refund_id = rest_id(required(refund, "id"))
    order_id = rest_id(required(refund, "order_id"))
    what = f"refund {refund_id} of order {order_id}"
    transactions = [
        t for t in refund.get("transactions") or () if isinstance(t, Mapping) and _succeeded(t)
    ]
    currency = _currency(refund, transactions) or default_currency()
    if not currency:
        raise DataError(f"{what}: no currency in the refund and none known for the shop")
    link = TicketLink(store=store, transaction_id=order_id, order_reference=order_id)
    try:
        lines = tuple(
            _line(what, raw, position, currency, link, order_lines or {})
            for position, raw in enumerate(refund.get("refund_line_items") or (), start=1)
        )
        tenders = tuple(
            _tender(what, t, currency) for t in transactions if t.get("kind") == "refund"
        )
        sale = Sale(
            key=TicketKey(store=store, transaction_id=refund_key(refund_id)),
            status=_status(transactions),
            occurred_at=parse_timestamp(refund.get("created_at") or refund.get("processed_at")),
            currency=currency,
            lines=lines,
            tenders=tenders,
            total=_total(tenders, currency),
            channel=CHANNEL,
            link=link,
        )
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from exc
    return [SaleBody(sale=sale)]


def _succeeded(transaction: Mapping[str, Any]) -> bool:
    return transaction.get("status", "success") in ("success", None)


def _currency(refund: Mapping[str, Any], transactions: list[Mapping[str, Any]]) -> str | None:
    """The shop currency the refunded lines are in, else the transactions' currency."""
    for raw in refund.get("refund_line_items") or ():
        if isinstance(raw, Mapping):
            found = set_currency(raw.get("subtotal_set"))
            if found:
                return found
    for transaction in transactions:
        code = transaction.get("currency")
        if isinstance(code, str) and code:
            return code
    return None


def _line(
    what: str,
    raw: Any,
    position: int,
    currency: str,
    link: TicketLink,
    order_lines: Mapping[str, Mapping[str, Any]],
) -> SaleLine:
    if not isinstance(raw, Mapping):
        raise DataError(f"{what}: refund line {position} is not an object")
    line_id = text_id(raw.get("line_item_id"))
    item = raw.get("line_item")
    if not isinstance(item, Mapping):
        item = order_lines.get(line_id or "")
    if not isinstance(item, Mapping):
        raise DataError(f"{what}: refund line {position} does not say which line it refunds")
    line_id = line_id or text_id(item.get("id"))
    line_no = str(raw.get("id") or position)
    sku = item.get("sku")
    if sku is None or str(sku).strip() == "":
        raise DataError(
            f"{what}: line {line_id} ({item.get('name') or item.get('title') or '?'}) has no "
            "SKU; give the variant a SKU in Shopify"
        )
    quantity = decimal(raw.get("quantity"), f"{what} line {line_no} quantity")
    price = optional_decimal(item.get("price"), f"{what} line {line_no} price")
    subtotal = optional_decimal(raw.get("subtotal"), f"{what} line {line_no} subtotal")
    if subtotal is None and price is not None:
        subtotal = price * quantity
    return SaleLine(
        line_no=line_no,
        sku=str(sku),
        quantity=-abs(quantity),
        unit_price=None if price is None else Money(amount=price, currency=currency),
        amount=None if subtotal is None else Money(amount=-abs(subtotal), currency=currency),
        description=str(item.get("name") or item.get("title") or ""),
        is_return=True,
        link=TicketLink(**link.model_dump(exclude={"line"}), line=line_id),
    )


def _tender(what: str, raw: Mapping[str, Any], currency: str) -> Tender:
    amount = decimal(raw.get("amount"), f"{what} transaction {raw.get('id')} amount")
    return Tender(
        kind=str(raw.get("gateway") or DEFAULT_GATEWAY),
        amount=Money(amount=abs(amount), currency=str(raw.get("currency") or currency)),
        refund=True,
    )


def _status(transactions: list[Mapping[str, Any]]) -> SaleStatus:
    """Training when every transaction is a test one (a test order's refund)."""
    if transactions and all(t.get("test") is True for t in transactions):
        return SaleStatus.TRAINING
    return SaleStatus.COMPLETED


def _total(tenders: tuple[Tender, ...], currency: str) -> Money | None:
    """Minus what went back to the customer, when all of it is in the sale's currency."""
    if not tenders or any(t.amount.currency != currency for t in tenders):
        return None
    return Money(amount=-sum((t.amount.amount for t in tenders), Decimal(0)), currency=currency)
