"""The ``loyalty`` sink of Odoo: a customer's balance as the points of their loyalty card.

Odoo 16 and later keep points on ``loyalty.card`` records (``program_id``, ``partner_id``,
``code``, ``points``), one card per customer and program; the POS shows and spends them.
Brique writes the balance as an absolute value on the card of the configured program
(``loyalty_program_id``), so a replayed batch finds the cards already holding it and writes
nothing: idempotent by nature, no key needed. Over JSON-RPC (``object.execute_kw``):

* one ``search_read`` of the program's cards of the batch's customers (``partner_id``);
* one ``write`` per distinct balance on the cards that hold another number (``write``
  sets one value on many ids);
* one ``create`` (a list of values: ``create`` is multi-record since Odoo 12) for customers
  without a card yet.

Odoo refusing one call (``UserError``, ``AccessError``...) is retried card by card, so one
bad record is reported in ``failed`` and the others are still written. ``points`` is a
``Float`` field: a whole balance goes as a JSON integer, a fractional one as a JSON number
with the balance's own digits (Odoo stores a double; points are not money).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.connector import LoyaltyWrite, WriteBatch, WriteResult
from bridge.errors import ConfigError, DataError
from connectors.odoo.rpc import OdooRefusal, OdooRpc

PLATFORM = "odoo"
"""The key of Odoo partner ids in ``CustomerRef.channel_ids`` (as orders file them)."""
MODEL = "loyalty.card"
MAX_BATCH = 200
"""Balances per batch: one search, a few writes, one create."""


def write_loyalty(rpc: OdooRpc, program_id: int | None, batch: WriteBatch) -> WriteResult:
    """Set each customer's card points; item keys are the Odoo partner ids."""
    if program_id is None:
        raise ConfigError(
            "odoo: set loyalty_program_id (the id of the loyalty.program whose cards show "
            "Brique's balances) to publish loyalty balances"
        )
    result = WriteResult()
    wanted: dict[int, tuple[str, Decimal]] = {}
    for position, raw in enumerate(batch.items):
        item = _item(raw, position)
        key = item.customer.channel_ids.get(PLATFORM) or f"item-{position}"
        partner = _partner(item.customer.channel_ids.get(PLATFORM))
        if partner is None:
            result.failed[key] = (
                f"no Odoo partner id for this balance (channel_ids: "
                f"{sorted(item.customer.channel_ids)})"
            )
            continue
        wanted[partner] = (key, item.balance)  # a later duplicate wins
    if not wanted:
        return result
    cards = rpc.search_read(
        MODEL,
        [("program_id", "=", program_id), ("partner_id", "in", sorted(wanted))],
        ["partner_id", "points"],
        order="id asc",
    )
    card_of: dict[int, dict[str, Any]] = {}
    for card in cards:
        partner = _partner(card.get("partner_id"))
        if partner is not None:
            card_of.setdefault(partner, card)  # the oldest card of the program
    updates: dict[Decimal, list[tuple[str, int]]] = {}
    creates: list[tuple[str, dict[str, Any]]] = []
    for partner, (key, balance) in sorted(wanted.items()):
        card = card_of.get(partner)
        if card is None:
            values = {"program_id": program_id, "partner_id": partner, "points": _number(balance)}
            creates.append((key, values))
        elif _points(card.get("points")) != balance:
            updates.setdefault(balance, []).append((key, int(card["id"])))
        else:
            _done(result, key, balance)  # the card already shows it: nothing to write
    for balance, targets in sorted(updates.items()):

        def write(ids: Sequence[int], balance: Decimal = balance) -> None:
            rpc.execute_kw(MODEL, "write", [list(ids), {"points": _number(balance)}])

        _each(write, targets, balance, result)
    if creates:
        by_key = dict(creates)

        def create(keys: Sequence[str]) -> None:
            rpc.execute_kw(MODEL, "create", [[by_key[k] for k in keys]])

        _each_create(create, creates, wanted, result)
    return result


def _each(
    call: Callable[[Sequence[int]], None],
    targets: list[tuple[str, int]],
    balance: Decimal,
    result: WriteResult,
) -> None:
    """One call for all; when Odoo refuses it, one call per card to find the bad ones."""
    try:
        call([card for _, card in targets])
    except OdooRefusal as exc:
        if len(targets) == 1:
            result.failed[targets[0][0]] = str(exc)
            return
        for key, card in targets:
            try:
                call([card])
            except OdooRefusal as exc:
                result.failed[key] = str(exc)
            else:
                _done(result, key, balance)
        return
    for key, _ in targets:
        _done(result, key, balance)


def _each_create(
    call: Callable[[Sequence[str]], None],
    creates: list[tuple[str, dict[str, Any]]],
    wanted: dict[int, tuple[str, Decimal]],
    result: WriteResult,
) -> None:
    balance_of = dict(wanted.values())
    keys = [key for key, _ in creates]
    try:
        call(keys)
    except OdooRefusal as exc:
        if len(keys) == 1:
            result.failed[keys[0]] = str(exc)
            return
        for key in keys:
            try:
                call([key])
            except OdooRefusal as one:
                result.failed[key] = str(one)
            else:
                _done(result, key, balance_of[key])
        return
    for key in keys:
        _done(result, key, balance_of[key])


def _done(result: WriteResult, key: str, balance: Decimal) -> None:
    result.written += 1
    result.observed[key] = balance


def _item(raw: Any, position: int) -> LoyaltyWrite:
    if isinstance(raw, LoyaltyWrite):
        return raw
    try:
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return LoyaltyWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"loyalty batch item {position} is not a loyalty write: {exc}") from exc


def _partner(value: Any) -> int | None:
    """A partner id from channel ids (``"7"``) or a many2one (``[7, "Deco Addict"]``)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _points(value: Any) -> Decimal | None:
    """Odoo's points as read (the RPC client parses JSON numbers as Decimals)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _number(balance: Decimal) -> int | float:
    """A JSON number for Odoo's ``Float`` points (see the module docstring)."""
    if balance == balance.to_integral_value():
        return int(balance)
    return float(balance)
