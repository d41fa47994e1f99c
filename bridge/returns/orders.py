"""The web orders a till can name: indexed when journaled, found by the number typed.

Every web order a shop connector journals is indexed here in the sale's own transaction
(its numbers, lines, paid amounts); an order journaled before this index existed, or whose
indexing failed, is indexed on demand from the journal the first time a till names its
platform id. Indexing is insert-if-absent throughout: replays change nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.model import Sale, SaleLine
from bridge.returns.numbers import OrderFacts, normalise, order_facts
from bridge.returns.tables import WebOrder, WebOrderAlias, WebOrderLine
from bridge.store.tables import InboxRow, SaleRow
from bridge.store.upsert import insert_ignore
from bridge.sync.ledger import to_e4


def is_order(sale: Sale) -> bool:
    """A web sale that sold goods (a web refund, journaled as a return sale, is not one)."""
    return sale.channel != "store" and not any(line.is_return for line in sale.lines)


def index(
    s: Session, connection: str, sale: Sale, raw: object, sale_id: int | None = None
) -> WebOrder:
    """Record a journaled web order for look-ups, or bring it up to the given version.

    A later version (an order paid, edited or cancelled after it was placed) updates the
    status, numbers and lines; what the lines have had returned is kept."""
    key = sale.key.as_string()
    facts = order_facts(raw if isinstance(raw, dict) else None, sale)
    values = {
        "order_id": sale.key.transaction_id or sale.key.sequence or key,
        "number": facts.number or key,
        "status": sale.status.value,
        "currency": sale.currency,
        "tax_included": facts.tax_included,
        "sale_id": sale_id,
    }
    insert_ignore(
        s, WebOrder, {"connection": connection, "ticket_key": key, **values},
        ("connection", "ticket_key"),
    )  # fmt: skip
    order = s.scalars(
        select(WebOrder).where(WebOrder.connection == connection, WebOrder.ticket_key == key)
    ).one()
    for name, value in values.items():
        if getattr(order, name) != value and (value is not None or name == "tax_included"):
            setattr(order, name, value)
    for alias in sorted(facts.aliases):
        insert_ignore(
            s, WebOrderAlias, {"alias": alias, "order_id": order.id}, ("alias", "order_id")
        )
    known = {
        w.line_no: w
        for w in s.scalars(select(WebOrderLine).where(WebOrderLine.order_id == order.id))
    }
    for line in sale.lines:
        if line.voided or line.quantity <= 0:
            continue
        fields = {
            "sku": line.sku,
            "quantity_e4": to_e4(line.quantity),
            "paid": _text(paid(line)),
            "tax": _text(_line_tax(facts, line)),
        }
        held = known.get(line.line_no)
        if held is None:
            insert_ignore(
                s, WebOrderLine,
                {"order_id": order.id, "line_no": line.line_no, "returned_e4": 0, **fields},
                ("order_id", "line_no"),
            )  # fmt: skip
        else:
            for name, value in fields.items():
                if getattr(held, name) != value:
                    setattr(held, name, value)
    return order


def paid(line: SaleLine) -> Decimal | None:
    """What the customer paid for the whole line, after discounts, on the order's basis."""
    if line.amount is not None:
        return line.amount.amount
    if line.unit_price is None:
        return None
    discount = line.discount.amount if line.discount is not None else Decimal(0)
    return line.unit_price.amount * line.quantity - discount


def _line_tax(facts: OrderFacts, line: SaleLine) -> Decimal | None:
    return facts.line_tax.get(line.line_no) if facts.tax_included is False else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def find(s: Session, reference: str) -> list[WebOrder]:
    """The web orders a typed number names, indexing journal orders it names by id."""
    alias = normalise(reference)
    orders = _by_alias(s, alias)
    if not orders:
        for row in _journal_rows(s, reference):
            if s.scalar(
                select(WebOrder.id).where(
                    WebOrder.connection == row.connection, WebOrder.ticket_key == row.ticket_key
                )
            ):
                continue
            sale = Sale.model_validate_json(row.payload)
            if is_order(sale):
                index(s, row.connection, sale, _raw(s, row.inbox_id), row.id)
        orders = _by_alias(s, alias)
    return orders


def _by_alias(s: Session, alias: str) -> list[WebOrder]:
    return list(
        s.scalars(
            select(WebOrder)
            .join(WebOrderAlias, WebOrderAlias.order_id == WebOrder.id)
            .where(WebOrderAlias.alias == alias)
            .order_by(WebOrder.id)
        )
    )


def _journal_rows(s: Session, reference: str) -> list[SaleRow]:
    """Web sales whose journal key names the typed number as their platform id
    (``<store>/tx/<id>``), looked up through the journal's (connection, ticket_key) index."""
    typed = reference.strip()
    ids = {typed, typed.lstrip("#").strip()} - {""}
    found: list[SaleRow] = []
    for connection, store in s.execute(select(SaleRow.connection, SaleRow.store).distinct()):
        if not store:
            continue
        keys = [f"{store}/tx/{i}" for i in sorted(ids)]
        found.extend(
            s.scalars(
                select(SaleRow).where(
                    SaleRow.connection == connection,
                    SaleRow.ticket_key.in_(keys),
                    SaleRow.channel != "store",
                )
            )
        )
    return found


def _raw(s: Session, inbox_id: int | None) -> object:
    """The payload the connector decoded, as the inbox kept it (None when gone)."""
    if inbox_id is None:
        return None
    row = s.get(InboxRow, inbox_id)
    if row is None:
        return None
    try:
        return json.loads(row.payload)
    except ValueError:
        return None


def aliases_of(s: Session, order_id: int) -> list[str]:
    return list(s.scalars(select(WebOrderAlias.alias).where(WebOrderAlias.order_id == order_id)))


def raw_payload(s: Session, inbox_id: int | None) -> object:
    """The payload the connector decoded for an inbox row (None when gone or unreadable)."""
    return _raw(s, inbox_id)
