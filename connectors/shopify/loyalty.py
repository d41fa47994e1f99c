"""The ``loyalty`` sink of Shopify: a customer's points balance as a customer metafield.

Shopify has no points ledger of its own, so the balance is shown where themes, Flow and
customer accounts can read it: the metafield ``brique.loyalty_points`` (type
``number_decimal``) of the customer, set with ``metafieldsSet`` (Admin GraphQL, at most 25
metafields per call; needs the ``write_customers`` scope). The value is absolute, so a
replayed batch writes the same number again: idempotent by nature, no key needed.

``metafieldsSet`` is atomic: one refused metafield (``userErrors`` with its
``elementIndex``) fails the whole call and nothing is stored. The refused ones are reported
in ``failed`` and the rest are sent again without them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.connector import LoyaltyWrite, WriteBatch, WriteResult
from bridge.errors import DataError
from connectors.shopify.graphql import MUTATION_COST, AdminGraphQL

PLATFORM = "shopify"
"""The key of Shopify customer ids in ``CustomerRef.channel_ids`` (as orders file them)."""
NAMESPACE = "brique"
KEY = "loyalty_points"
TYPE = "number_decimal"
MAX_METAFIELDS = 25
"""``metafieldsSet`` takes at most 25 metafields per call."""
MAX_DIGITS = 9
"""A ``number_decimal`` holds up to 9 digits before and 9 after the point."""
CUSTOMER_GID = "gid://shopify/Customer/"

SET_LOYALTY_MUTATION = """
mutation BriqueSetLoyalty($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key namespace value }
    userErrors { field message code elementIndex }
  }
}
"""


def customer_gid(ident: str | None) -> str | None:
    """A Shopify customer GID from what an order filed (``207119551`` or a GID), else None."""
    if not ident:
        return None
    ident = ident.strip()
    if ident.startswith(CUSTOMER_GID) and ident[len(CUSTOMER_GID) :].isdigit():
        return ident
    return f"{CUSTOMER_GID}{ident}" if ident.isdigit() else None


def value_text(balance: Decimal) -> str:
    """The metafield value of a balance; ``DataError`` when Shopify could not hold it."""
    text = format(balance.normalize(), "f")
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(whole) > MAX_DIGITS or len(fraction) > MAX_DIGITS:
        raise DataError(f"balance {text} does not fit a Shopify number_decimal metafield")
    return text


def write_loyalty(graphql: AdminGraphQL, batch: WriteBatch) -> WriteResult:
    """Set each customer's balance metafield; item keys are the Shopify customer ids."""
    result = WriteResult()
    pending: dict[str, tuple[str, str]] = {}
    for position, raw in enumerate(batch.items):
        item = _item(raw, position)
        key = item.customer.channel_ids.get(PLATFORM) or f"item-{position}"
        gid = customer_gid(item.customer.channel_ids.get(PLATFORM))
        if gid is None:
            result.failed[key] = (
                f"no Shopify customer id for this balance (channel_ids: "
                f"{sorted(item.customer.channel_ids)})"
            )
            continue
        try:
            pending[key] = (gid, value_text(item.balance))  # a later duplicate wins
        except DataError as exc:
            result.failed[key] = str(exc)
    entries = list(pending.items())
    for start in range(0, len(entries), MAX_METAFIELDS):
        _send(graphql, entries[start : start + MAX_METAFIELDS], result)
    return result


def _item(raw: Any, position: int) -> LoyaltyWrite:
    if isinstance(raw, LoyaltyWrite):
        return raw
    try:
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return LoyaltyWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"loyalty batch item {position} is not a loyalty write: {exc}") from exc


def _send(graphql: AdminGraphQL, chunk: list[tuple[str, tuple[str, str]]], result: WriteResult):
    pending = chunk
    while pending:
        inputs = [
            {"ownerId": gid, "namespace": NAMESPACE, "key": KEY, "type": TYPE, "value": value}
            for _, (gid, value) in pending
        ]
        data = graphql.execute(
            SET_LOYALTY_MUTATION,
            {"metafields": inputs},
            what=f"shopify metafieldsSet ({len(inputs)} loyalty balances)",
            cost=MUTATION_COST + len(inputs),
        )
        payload = data.get("metafieldsSet") or {}
        errors = payload.get("userErrors") or []
        if not errors:
            result.written += len(pending)
            for key, (_, value) in pending:
                result.observed[key] = Decimal(value)
            return
        refused: dict[int, str] = {}
        for error in errors:
            index = _element(error, len(pending))
            message = _message(error)
            if index is None:  # not about one metafield: the whole call is refused
                for key, _ in pending:
                    result.failed[key] = f"shopify refused the balances: {message}"
                return
            refused[index] = message
        for index, message in refused.items():
            result.failed[pending[index][0]] = message
        pending = [entry for i, entry in enumerate(pending) if i not in refused]


def _element(error: Any, size: int) -> int | None:
    """Which metafield a user error is about: ``elementIndex``, else ``field[1]``."""
    if not isinstance(error, dict):
        return None
    index = error.get("elementIndex")
    if index is None:
        field = error.get("field") or []
        if len(field) > 1 and str(field[0]) == "metafields" and str(field[1]).isdigit():
            index = int(field[1])
    return index if isinstance(index, int) and 0 <= index < size else None


def _message(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    code = error.get("code")
    text = str(error.get("message") or "refused")
    return f"{code}: {text}" if code else text
