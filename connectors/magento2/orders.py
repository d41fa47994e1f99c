"""Magento 2 orders (``GET /V1/orders`` items) to canonical web sales: pure functions.

The payload is the order as the search returns it, read with ``parse_float=Decimal``; after a
trip through the inbox its numbers may come back as text, so every amount is read through
its text form, never as a binary float. Dates (``created_at``, ``updated_at``) are Magento's
database times, UTC, as ``YYYY-MM-DD HH:MM:SS``.

Lines. ``items`` lists one row per product in the cart *and* one per child of a composite
product, the child pointing at its parent with ``parent_item_id`` (and carrying a copy of it
as ``parent_item``):

* a **configurable** product is two rows: the parent (``product_type: configurable``, the
  chosen child's SKU, the price, row total and discount) and the child (``simple``, the same
  SKU and quantity, price 0 or a copy, row total 0). Stock lives on the child, so the child
  row is the line and it takes its money from the parent; the parent row is skipped;
* a **bundle** is the parent row (the bundle's own SKU, which holds no stock) and one row per
  selected option: the children are the lines, with their own amounts (a fixed-price
  bundle prices its children at 0; its price stays in the order total); the parent is
  skipped;
* every other row without a parent is a line of its own.

Status. Magento's ``state`` (``new``, ``pending_payment``, ``processing``, ``complete``,
``closed``, ``canceled``, ``holded``, ``payment_review``) is read first: merchants rename and
add ``status`` codes, but each belongs to one of these states; ``status`` is the fallback.
``processing`` and ``complete`` are sales, ``canceled`` is cancelled, anything else (pending
payment, on hold, ``closed`` after a full refund...) is ``other``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import (
    CustomerRef,
    Money,
    Sale,
    SaleBody,
    SaleLine,
    SaleStatus,
    Tender,
    TicketKey,
)

ORDER = "order"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

STATUSES: dict[str, SaleStatus] = {
    "processing": SaleStatus.COMPLETED,
    "complete": SaleStatus.COMPLETED,
    "canceled": SaleStatus.CANCELLED,
}
"""Magento order state (else status) -> Brique's; anything else is ``other``."""

PARENT_TYPES = frozenset({"configurable", "bundle"})
"""Product types whose order row is replaced by its children's rows."""
MONEY_FROM_PARENT = frozenset({"configurable"})
"""Parent types whose children carry no money of their own (it is on the parent row)."""


def parse_time(value: Any) -> datetime | None:
    """``2026-01-15 10:00:00`` (UTC, Magento's database time) or ISO text; None otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.strptime(text, DATE_FORMAT)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def time_text(moment: datetime) -> str:
    """The form Magento prints and filters dates in (UTC)."""
    return moment.astimezone(UTC).strftime(DATE_FORMAT)


def decimal(value: Any, what: str) -> Decimal:
    found = optional_decimal(value)
    if found is None:
        raise DataError(f"{what} is missing or not a number ({value!r})")
    return found


def optional_decimal(value: Any) -> Decimal | None:
    """A Decimal from a JSON number (already a Decimal or an int) or its text; a float goes
    through its shortest text, which is what Magento printed."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        found = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def platform_id(value: Any) -> str | None:
    """A Magento integer id as text; None for 0, missing or malformed."""
    if isinstance(value, bool) or value is None:
        return None
    text = format(value, "f") if isinstance(value, Decimal) else str(value).strip()
    return text if text.isdigit() and int(text) > 0 else None


def order_key(payload: Mapping[str, Any]) -> str | None:
    """``order/<entity_id>@<updated_at>``: one inbox key per version of an order."""
    order_id = platform_id(payload.get("entity_id"))
    updated = parse_time(payload.get("updated_at"))
    if order_id is None or updated is None:
        return None
    return f"order/{order_id}@{time_text(updated)}"


def status_of(payload: Mapping[str, Any]) -> SaleStatus:
    for field in ("state", "status"):
        value = str(payload.get(field) or "").strip().lower()
        if value:
            return STATUSES.get(value, SaleStatus.OTHER)
    return SaleStatus.OTHER


def decode_order(payload: Mapping[str, Any], default_store: str) -> list[SaleBody]:
    """An order -> one web sale keyed ``(store_id, increment_id)``; see the module doc."""
    order_id = platform_id(payload.get("entity_id"))
    if order_id is None:
        raise DataError("order payload has no 'entity_id'")
    number = str(payload.get("increment_id") or "").strip() or order_id
    what = f"order {number}"
    currency = payload.get("order_currency_code") or payload.get("base_currency_code")
    if not isinstance(currency, str) or not currency.strip():
        raise DataError(f"{what} has no order_currency_code")
    currency = currency.strip().upper()
    status = status_of(payload)
    store = platform_id(payload.get("store_id")) or default_store
    try:
        lines = _lines(payload, currency, what)
        total = optional_decimal(payload.get("grand_total"))
        sale = Sale(
            key=TicketKey(store=store, transaction_id=number),
            status=status,
            occurred_at=parse_time(payload.get("created_at")),
            currency=currency,
            lines=lines,
            tenders=_tenders(payload, currency, total, status),
            total=Money(amount=total, currency=currency) if total is not None else None,
            customer=_customer(payload),
            channel="web",
        )
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from None
    return [SaleBody(sale=sale)]


def _lines(payload: Mapping[str, Any], currency: str, what: str) -> tuple[SaleLine, ...]:
    rows = [r for r in payload.get("items") or () if isinstance(r, Mapping)]
    by_id = {platform_id(r.get("item_id")): r for r in rows}
    parents_with_children = {platform_id(r.get("parent_item_id")) for r in rows} - {None}
    lines: list[SaleLine] = []
    for position, row in enumerate(rows, start=1):
        row_id = platform_id(row.get("item_id"))
        kind = str(row.get("product_type") or "")
        if kind in PARENT_TYPES and row_id in parents_with_children:
            continue  # its children are the lines
        parent_id = platform_id(row.get("parent_item_id"))
        parent = by_id.get(parent_id) if parent_id else None
        if parent is None and parent_id:
            embedded = row.get("parent_item")
            parent = embedded if isinstance(embedded, Mapping) else None
        money = row
        if parent is not None and str(parent.get("product_type") or "") in MONEY_FROM_PARENT:
            money = parent
        lines.append(_line(row, money, currency, position, what))
    return tuple(lines)


def _line(
    row: Mapping[str, Any], money: Mapping[str, Any], currency: str, position: int, what: str
) -> SaleLine:
    line_no = platform_id(row.get("item_id")) or str(position)
    sku = str(row.get("sku") or "").strip()
    if not sku:
        raise DataError(f"{what}: item {line_no} ({row.get('name') or '?'}) has no SKU")
    where = f"{what} item {line_no}"
    quantity = decimal(row.get("qty_ordered"), f"{where} qty_ordered")
    price = optional_decimal(money.get("price"))
    row_total = optional_decimal(money.get("row_total"))
    discount = optional_decimal(money.get("discount_amount")) or Decimal(0)
    amount = row_total - discount if row_total is not None else None
    return SaleLine(
        line_no=line_no,
        sku=sku,
        quantity=quantity,
        unit_price=Money(amount=price, currency=currency) if price is not None else None,
        amount=Money(amount=amount, currency=currency) if amount is not None else None,
        discount=Money(amount=discount, currency=currency) if discount > 0 else None,
        description=str(row.get("name") or ""),
    )


def _tenders(
    payload: Mapping[str, Any], currency: str, total: Decimal | None, status: SaleStatus
) -> tuple[Tender, ...]:
    payment = payload.get("payment")
    payment = payment if isinstance(payment, Mapping) else {}
    kind = str(payment.get("method") or "").strip() or "web"
    paid = optional_decimal(payment.get("amount_paid")) or optional_decimal(
        payload.get("total_paid")
    )
    tenders: list[Tender] = []
    amount = paid if paid else (total if status is SaleStatus.COMPLETED else None)
    if amount is not None and amount > 0:
        tenders.append(Tender(kind=kind, amount=Money(amount=amount, currency=currency)))
    refunded = optional_decimal(payload.get("total_refunded"))
    if refunded:
        tenders.append(
            Tender(kind=kind, amount=Money(amount=abs(refunded), currency=currency), refund=True)
        )
    return tuple(tenders)


def _customer(payload: Mapping[str, Any]) -> CustomerRef | None:
    billing = payload.get("billing_address")
    billing = billing if isinstance(billing, Mapping) else {}
    email = str(payload.get("customer_email") or billing.get("email") or "").strip() or None
    phone = str(billing.get("telephone") or "").strip() or None
    first = payload.get("customer_firstname") or billing.get("firstname")
    last = payload.get("customer_lastname") or billing.get("lastname")
    name = " ".join(str(p).strip() for p in (first, last) if p).strip() or None
    customer_id = platform_id(payload.get("customer_id"))
    if payload.get("customer_is_guest") in (1, True, "1"):
        customer_id = None
    channel_ids = {"magento2": customer_id} if customer_id else {}
    if not (email or phone or name or channel_ids):
        return None
    return CustomerRef(
        customer_id=customer_id, email=email, phone=phone, name=name, channel_ids=channel_ids
    )
