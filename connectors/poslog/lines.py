"""Item lines of a RetailTransaction: identity, quantity, amounts, discounts, voids, returns.

Each producer marks returns, voids and discounts its own way; the quirks handled are named
next to the code that handles them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.model import Money
from connectors.poslog.elements import (
    _child,
    _children,
    _currency_attr,
    _decimal,
    _first,
    _flag,
    _link,
    _local,
    _Reject,
    _text,
)

SALE_ITEMS = frozenset({"Sale", "SaleForDelivery", "SaleForPickup"})
RETURN_ITEMS = frozenset({"Return", "ReturnForDelivery", "ReturnForPickup"})
LINE_BODIES = tuple(sorted(SALE_ITEMS | RETURN_ITEMS))
"""Local names of an item line's body, for ``_child``: the first in document order wins."""
BARCODE_TYPES = frozenset({"GTIN", "EAN", "EAN8", "EAN13", "UPC", "UPCA", "UPCE", "ISBN"})


def _line(item: Any, body: Any, position: int, currency: str) -> dict[str, Any]:
    """SaleLine fields of one Sale*/Return* body, plus ``_flagged``/``_element`` for reversals."""
    line_no = _text(item, "SequenceNumber") or str(position)
    where = f"LineItem {line_no}"
    sku, barcode = _identity(body)
    if sku is None:
        raise _Reject(f"{where}: no ItemID or POSIdentity/POSItemID", body)

    quantity_el = _child(body, "Quantity")
    # @Units is not a multiplier in practice: Retalix repeats the quantity there and
    # Visma writes Units="0.00"; multiplying would zero or square real quantities.
    quantity = Decimal(1)  # ARTS: Quantity is optional and defaults to one
    if quantity_el is not None:
        quantity = _decimal(quantity_el, f"{where} Quantity")
    unit = None
    if quantity_el is not None:
        unit = (quantity_el.get("UnitOfMeasureCode") or "").strip() or None

    flagged = _line_voided(item)
    is_return = _local(body) in RETURN_ITEMS
    if is_return:
        quantity = quantity.copy_abs().copy_negate()  # exact: no context rounding
    elif quantity < 0:
        is_return = True  # roqqio & co. write returns as negative sales

    def money(name: str) -> Money | None:
        el = _child(body, name)
        if el is None or not (el.text or "").strip():
            return None
        return Money(
            amount=_decimal(el, f"{where} {name}"), currency=_currency_attr(el) or currency
        )

    discount = money("ExtendedDiscountAmount")
    if discount is None or discount.amount == 0:
        discount = _modifiers(body, where, currency) or discount
    if discount is not None and discount.amount == 0:
        discount = None

    # roqqio leaves Description out and names the item in ItemID/@Name.
    item_id_el = _child(body, "ItemID")
    description = _text(body, "Description") or ""
    if not description and item_id_el is not None:
        description = (item_id_el.get("Name") or "").strip()
    link_el = _first(_child(body, "TransactionLink"), _child(item, "TransactionLink"))
    amount = money("ExtendedAmount")
    if amount is not None and is_return:
        # Producers write a return's ExtendedAmount unsigned (roqqio: quantity -1,
        # amount 2.990, total -2.990); the canonical line's amount follows its quantity.
        amount = Money(amount=amount.amount.copy_abs().copy_negate(), currency=amount.currency)
    return {
        "line_no": line_no,
        "sku": sku,
        "quantity": quantity,
        "unit_price": money("ActualSalesUnitPrice") or money("RegularSalesUnitPrice"),
        "amount": amount,
        "discount": discount,
        "description": description,
        "barcode": barcode,
        "unit": unit,
        "is_return": is_return,
        "voided": flagged,
        "link": _link(link_el),
        "_flagged": flagged,
        "_element": body,
    }


def _line_voided(item: Any) -> bool:
    return any(_flag(item, f) for f in ("VoidFlag", "CancelFlag", "DeleteFlag"))


def _identity(body: Any) -> tuple[str | None, str | None]:
    """(sku, barcode) of an item line.

    The SKU is ``ItemID``, unless the ItemID is typed as a barcode and a non-barcode
    ``POSIdentity`` exists (Retalix: ``ItemID Type="X:EAN"`` is the scanned code and
    ``POSItemID`` the item code); without ItemID it is the first non-barcode POSIdentity
    (Visma: ``RSID`` next to ``GTIN``), else any POSIdentity. The barcode is the POSIdentity
    whose ``POSIDType`` names a barcode (GTIN/EAN/UPC), else a barcode-typed ItemID.
    """
    item_id_el = _child(body, "ItemID")
    item_id = _text(body, "ItemID")
    item_id_type = ""
    if item_id_el is not None:
        item_id_type = (item_id_el.get("Type") or "").rpartition(":")[2].strip().upper()
    identities = []
    for ident in _children(body, "POSIdentity"):
        value = _text(ident, "POSItemID")
        if value:
            kind = (ident.get("POSIDType") or "").rpartition(":")[2].strip().upper()
            identities.append((kind, value))
    barcode = next((v for k, v in identities if k in BARCODE_TYPES), None)
    item_id_is_barcode = item_id is not None and item_id_type in BARCODE_TYPES
    if barcode is None and item_id_is_barcode:
        barcode = item_id
    item_code = next((v for k, v in identities if k not in BARCODE_TYPES), None)
    if item_id is not None and not (item_id_is_barcode and item_code is not None):
        return item_id, barcode
    if item_code is not None:
        return item_code, barcode
    return (identities[0][1] if identities else None), barcode


def _modifiers(body: Any, where: str, currency: str) -> Money | None:
    """Sum of RetailPriceModifier amounts: Subtract is a discount, Add a surcharge."""
    total: Decimal | None = None
    found_currency = None
    for modifier in _children(body, "RetailPriceModifier"):
        amount_el = _child(modifier, "Amount")
        if amount_el is None or not (amount_el.text or "").strip():
            continue
        value = _decimal(amount_el, f"{where} RetailPriceModifier")
        action = (amount_el.get("Action") or modifier.get("Action") or "Subtract").lower()
        value = value.copy_negate() if action == "add" else value
        total = value if total is None else total + value
        found_currency = found_currency or _currency_attr(amount_el)
    if total is None:
        return None
    return Money(amount=total, currency=found_currency or currency)


def _match_reversals(lines: list[dict[str, Any]]) -> int:
    """Void the line a flagged negative line cancels; return how many were found.

    NCR ACS voids a line by appending a ``VoidFlag="true"`` line with the opposite quantity
    and amount; the original stays unflagged. Ignoring only the flagged line would sell the
    item anyway, so the latest earlier line with the same SKU and opposite quantity is
    voided too, and the reversal itself is not a customer return.
    """
    matched = 0
    for index, line in enumerate(lines):
        if not line["_flagged"] or line["quantity"] >= 0 or line["_element"] is None:
            continue
        if _local(line["_element"]) in RETURN_ITEMS:
            continue
        wanted = line["quantity"].copy_negate()
        for earlier in reversed(lines[:index]):
            if (
                not earlier["voided"]
                and earlier["sku"] == line["sku"]
                and earlier["quantity"] == wanted
            ):
                earlier["voided"] = True
                line["is_return"] = False
                matched += 1
                break
    return matched
