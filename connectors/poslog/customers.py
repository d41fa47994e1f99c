"""The customer of a ticket: ids, loyalty card, e-mail, phone and name, when the till has them."""

from __future__ import annotations

from typing import Any

from bridge.model import CustomerRef
from connectors.poslog.elements import _child, _first, _local, _text


def _customer(retail: Any, loyalty_card: str | None) -> CustomerRef | None:
    customer = _child(retail, "Customer")
    loyalty = _first(_child(retail, "LoyaltyAccount"), _child(customer, "LoyaltyAccount"))
    values: dict[str, str | None] = {
        "customer_id": _text(customer, "CustomerID") or _text(loyalty, "CustomerID"),
        "loyalty_card": _text(loyalty, "LoyaltyCard", "PrimaryAccountNumber") or loyalty_card,
        "email": None,
        "phone": None,
        "name": _name(_child(customer, "Name")),
    }
    if customer is not None:
        for el in customer.iter():
            name = _local(el)
            text = (el.text or "").strip() if isinstance(el.tag, str) else ""
            if not text:
                continue
            if values["email"] is None and name in ("EMailAddress", "EmailAddress", "EMail"):
                values["email"] = text if "@" in text else None
            elif values["phone"] is None and name in (
                "FullTelephoneNumber",
                "TelephoneNumber",
                "PhoneNumber",
            ):
                values["phone"] = text
    if not any(values.values()):
        return None
    return CustomerRef(**values)


def _name(el: Any) -> str | None:
    if el is None:
        return None
    for tag in ("OfficialName", "FullName"):
        value = _text(el, tag)
        if value:
            return value
    parts = [
        _text(el, tag)
        for tag in ("GivenName", "FirstName", "MiddleName", "FamilyName", "LastName", "Surname")
    ]
    joined = " ".join(p for p in parts if p)
    return joined or ((el.text or "").strip() or None)
