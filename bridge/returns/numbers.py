"""The order numbers customers show, and what a web order says about tax, by platform.

Each shop connector keys its web sales by the platform's *id* (``TicketKey.transaction_id``),
which is rarely what the customer reads on the confirmation and tells the cashier:

- Shopify: key ``id`` (820982911946154508); shown ``name`` "#1001" and ``order_number``;
  amounts as shown, ``taxes_included`` says which, ``tax_lines`` per line.
- WooCommerce: key ``id`` (727); shown ``number`` (a plugin may change it); line amounts
  exclude tax, ``total_tax`` per line.
- Magento 2: key and shown ``increment_id`` ("000000123"); amounts exclude tax, ``tax_amount``
  per item.
- PrestaShop: key and shown ``reference`` ("XKBKNABJK"); ``unit_price_tax_incl``.
- Oscar: key and shown ``number`` ("100001"); ``price_incl_tax``.
- Vendure: key and shown ``code`` ("ABCD1234EFGH"); ``*WithTax`` amounts.

The canonical sale keeps neither the shown number nor the tax basis, so both are read from
the raw order the inbox kept (the payload the connector decoded), recognised by the fields
only that platform's order has. A till types numbers loosely: ``normalise`` drops ``#``,
spaces and separators, upper-cases, and drops leading zeros of an all-digit number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.model import Sale

_SEPARATORS = re.compile(r"[\s#\-_./:]+")


def normalise(reference: str) -> str:
    """The look-up form of an order number: ``" #01001 "`` and ``"1001"`` are the same."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(reference))).upper()
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text[:255]


@dataclass(frozen=True)
class OrderFacts:
    """What the raw order adds to the canonical sale."""

    number: str
    """The number the customer sees."""
    aliases: frozenset[str]
    """Every normalised number a till may type for it (the platform id included)."""
    tax_included: bool | None
    """Whether line amounts include tax; None when unknown (then taken as the store's)."""
    line_tax: dict[str, Decimal] = field(default_factory=dict)
    """Line number -> the line's tax, when amounts exclude it and the platform states it."""


def order_facts(raw: Mapping[str, Any] | None, sale: Sale) -> OrderFacts:
    """Numbers and tax basis of a web order from the payload its connector decoded."""
    platform_id = sale.key.transaction_id or sale.key.sequence or ""
    raw = raw if isinstance(raw, Mapping) else {}
    shown: list[Any] = []
    tax_included: bool | None = None
    line_tax: dict[str, Decimal] = {}
    if "order_number" in raw or str(raw.get("admin_graphql_api_id", "")).startswith(
        "gid://shopify/Order/"
    ):  # Shopify REST Order (orders/* webhooks)
        shown = [raw.get("name"), raw.get("order_number")]
        if isinstance(raw.get("taxes_included"), bool):
            tax_included = raw["taxes_included"]
        if tax_included is False:
            line_tax = _line_sums(raw.get("line_items"), "id", lambda r: _tax_lines(r))
    elif "order_key" in raw or "prices_include_tax" in raw:  # WooCommerce REST v3 Order
        shown = [raw.get("number")]
        tax_included = False  # line ``total``/``price`` exclude tax, whatever the store shows
        line_tax = _line_sums(raw.get("line_items"), "id", lambda r: [r.get("total_tax")])
    elif "increment_id" in raw:  # Magento 2 sales order
        shown = [raw.get("increment_id")]
        tax_included = False
        line_tax = _line_sums(raw.get("items"), "item_id", _magento_tax(raw.get("items")))
    elif "id_currency" in raw and "reference" in raw:  # PrestaShop webservice order
        shown = [raw.get("reference"), raw.get("id")]
        tax_included = True
    elif "code" in raw and "currencyCode" in raw:  # Vendure Order
        shown = [raw.get("code")]
        tax_included = True
    elif "number" in raw and "total_incl_tax" in raw:  # django-oscar-api Order
        shown = [raw.get("number")]
        tax_included = True
    numbers = [str(n).strip() for n in shown if _scalar(n) and str(n).strip()]
    aliases = {normalise(n) for n in [*numbers, platform_id] if n}
    aliases.discard("")
    return OrderFacts(
        number=numbers[0] if numbers else platform_id,
        aliases=frozenset(aliases),
        tax_included=tax_included,
        line_tax=line_tax,
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        return None
    try:
        found = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def _line_sums(rows: Any, id_field: str, amounts: Any) -> dict[str, Decimal]:
    """Line id -> the sum of the amounts ``amounts(row)`` lists; lines without any left out."""
    found: dict[str, Decimal] = {}
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, Mapping) or row.get(id_field) is None:
            continue
        values = [v for v in (_decimal(a) for a in amounts(row)) if v is not None]
        if values:
            found[str(row[id_field]).strip()] = sum(values, Decimal(0))
    return found


def _tax_lines(row: Mapping[str, Any]) -> Iterable[Any]:
    """Shopify: ``tax_lines[].price`` of a line item (its taxes, in the shop currency)."""
    return [t.get("price") for t in row.get("tax_lines") or () if isinstance(t, Mapping)]


def _magento_tax(items: Any) -> Any:
    """Magento: an item's ``tax_amount``; a configurable's child takes its parent's, whose
    row carries the money (as the connector's decoder does)."""
    by_id = {
        str(r.get("item_id")): r for r in items or () if isinstance(r, Mapping) and "item_id" in r
    }

    def amounts(row: Mapping[str, Any]) -> list[Any]:
        parent = by_id.get(str(row.get("parent_item_id")))
        if parent is None and isinstance(row.get("parent_item"), Mapping):
            parent = row["parent_item"]
        if parent is not None and str(parent.get("product_type") or "") == "configurable":
            return [parent.get("tax_amount")]
        return [row.get("tax_amount")]

    return amounts
