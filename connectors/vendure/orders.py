"""Vendure orders (Admin API ``orders`` items) to canonical web sales; money in minor units.

The connector stores an order as the Admin API prints it for the query in
``connector.ORDERS``, e.g. (a real Vendure 3.7.3)::

    {"id": "1", "code": "79WSXB83JWG7LNT6", "state": "PaymentSettled", "active": false,
     "orderPlacedAt": "2026-11-23T17:14:40.531Z", "updatedAt": "2026-11-23T17:14:40.000Z",
     "currencyCode": "EUR", "totalWithTax": 7136,
     "customer": {"id": "1", "emailAddress": "jane@example.com"},
     "lines": [{"id": "1", "quantity": 3, "unitPriceWithTax": 2379, "linePriceWithTax": 7136,
                "discountedLinePriceWithTax": 7136,
                "productVariant": {"id": "1", "sku": "SKU-TSHIRT-BLUE", "name": "T-shirt blue"}}]}

Amounts are integers in the currency's minor units (``2379`` EUR = 23.79); they are turned
into ``Decimal`` exactly through the currency's ISO 4217 exponent (``minor_to_decimal``).

Baskets. An order placed from an active order keeps its ``code``, so ``Sale.basket`` is the
order code: the basket the ``baskets`` stream read, or the one a ``baskets`` write opened
(answered as its ``id``), is marked converted by it.

States. An order in ``Created``, ``Draft``, ``AddingItems`` or ``ArrangingPayment`` is a
basket, not a sale: it is not read. ``Cancelled`` is a cancelled sale; every other state
(``PaymentAuthorized``, ``PaymentSettled``, ``Shipped``, ``Delivered``, ``Modifying``...) is a
completed sale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bridge.errors import DataError
from bridge.model import CustomerRef, Money, Sale, SaleBody, SaleLine, SaleStatus, TicketKey

ORDER = "order"
NOT_PLACED = frozenset({"Created", "Draft", "AddingItems", "ArrangingPayment"})
CANCELLED = frozenset({"Cancelled"})
PAID = frozenset({"PaymentAuthorized", "PaymentSettled"})
"""The states an order is placed in: read under its first key."""

# ISO 4217 minor-unit exponents that are not 2 (the rest of the list uses 2).
_EXPONENTS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    "CLF": 4,
    "UYW": 4,
}


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    return _EXPONENTS.get(currency.upper(), 2)


def minor_to_decimal(value: Any, currency: str) -> Decimal | None:
    """Vendure's integer minor units to an exact amount (``2379``, EUR -> ``23.79``)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            return None
        value = int(value)
    if not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            return None
    return Decimal(value).scaleb(-exponent(currency))


def decimal_to_minor(amount: Decimal, currency: str) -> int:
    """An exact amount to Vendure's minor units; refuses what the currency cannot hold."""
    if not amount.is_finite():
        raise DataError(f"price {amount} is not a number")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise DataError(
            f"price {amount} {currency} has more decimals than {currency}'s "
            f"{exponent(currency)}; round it in the mapping"
        )
    return int(scaled)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_placed(payload: Mapping[str, Any]) -> bool:
    """A cart cancelled before it was placed (Brique closes a cart bought at a till with
    ``cancelOrder``) has no ``orderPlacedAt``: it was never a sale."""
    state = str(payload.get("state") or "")
    if state in CANCELLED and "orderPlacedAt" in payload and not payload["orderPlacedAt"]:
        return False
    return state not in NOT_PLACED


def status_of(payload: Mapping[str, Any]) -> SaleStatus:
    if str(payload.get("state") or "") in CANCELLED:
        return SaleStatus.CANCELLED
    return SaleStatus.COMPLETED


def order_key(payload: Mapping[str, Any]) -> str | None:
    """One inbox key per order and outcome: a later cancellation is a new event. So is a
    change past payment (shipped, delivered, modified: keyed by state and ``updatedAt``),
    so a shipment or an edit reaches Brique (as a new version of the order)."""
    code = str(payload.get("code") or "").strip()
    if not code:
        return None
    key = f"order/{code}/{status_of(payload).value}"
    state = str(payload.get("state") or "")
    if state in PAID or state in CANCELLED:
        return key
    return f"{key}/{state}@{payload.get('updatedAt') or ''}"


def decode_order(payload: Mapping[str, Any], *, store: str) -> list[SaleBody]:
    code = str(payload.get("code") or "").strip()
    if not code:
        raise DataError("order payload has no 'code'")
    what = f"order {code}"
    if not is_placed(payload):
        raise DataError(f"{what} is in state {payload.get('state')!r}: a basket, not a sale")
    currency = str(payload.get("currencyCode") or "").strip().upper()
    if not currency:
        raise DataError(f"{what} has no currencyCode")
    lines = payload.get("lines")
    if not isinstance(lines, list):
        raise DataError(f"{what}: no lines (got {type(lines).__name__})")
    total = minor_to_decimal(payload.get("totalWithTax"), currency)
    customer = payload.get("customer") if isinstance(payload.get("customer"), Mapping) else {}
    email = str(customer.get("emailAddress") or "").strip() or None
    try:
        sale = Sale(
            key=TicketKey(store=store, transaction_id=code),
            status=status_of(payload),
            occurred_at=parse_time(payload.get("orderPlacedAt"))
            or parse_time(payload.get("updatedAt")),
            currency=currency,
            lines=tuple(
                _line(row, currency, position, what)
                for position, row in enumerate(lines, start=1)
                if isinstance(row, Mapping)
            ),
            total=Money(amount=total, currency=currency) if total is not None else None,
            customer=(
                CustomerRef(
                    email=email,
                    channel_ids={"vendure": str(customer["id"])} if customer.get("id") else {},
                )
                if email
                else None
            ),
            channel="web",
            # A Vendure order is its own cart placed: the active order's code is the basket.
            basket=code,
        )
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from None
    return [SaleBody(sale=sale)]


def _line(row: Mapping[str, Any], currency: str, position: int, what: str) -> SaleLine:
    line_no = str(row.get("id") or position)
    variant = row.get("productVariant") if isinstance(row.get("productVariant"), Mapping) else {}
    sku = str(variant.get("sku") or "").strip()
    if not sku:
        raise DataError(f"{what} line {line_no}: its variant {variant.get('id')!r} has no SKU")
    quantity = row.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise DataError(f"{what} line {line_no}: quantity {quantity!r}")
    unit = minor_to_decimal(row.get("unitPriceWithTax"), currency)
    gross = minor_to_decimal(row.get("linePriceWithTax"), currency)
    amount = minor_to_decimal(row.get("discountedLinePriceWithTax"), currency)
    if amount is None:
        amount = gross
    discount = gross - amount if gross is not None and amount is not None else None
    return SaleLine(
        line_no=line_no,
        sku=sku,
        quantity=Decimal(quantity),
        unit_price=Money(amount=unit, currency=currency) if unit is not None else None,
        amount=Money(amount=amount, currency=currency) if amount is not None else None,
        discount=Money(amount=discount, currency=currency) if discount else None,
        description=str(variant.get("name") or ""),
    )
