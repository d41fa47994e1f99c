"""The sample-document builder other tests and demos use must produce what the parser reads."""

from __future__ import annotations

import io
from decimal import Decimal

from bridge.model import Sale, SaleStatus
from connectors.poslog import parse
from connectors.poslog.samples import Line, document, ticket, transaction


def test_ticket_round_trips_through_the_parser() -> None:
    data = ticket("1001", 7, [Line("3600000000017", "2"), Line("3600000000024", returned=True)])
    (sale,) = list(parse(io.BytesIO(data), "sample.xml"))
    assert isinstance(sale, Sale)
    assert sale.key.as_string() == "1001/01/2026-11-23/7"
    assert sale.status is SaleStatus.COMPLETED and sale.currency == "EUR"
    sold, returned = sale.lines
    assert (sold.sku, sold.quantity, sold.is_return) == ("3600000000017", Decimal(2), False)
    assert sold.amount is not None and sold.amount.amount == Decimal("39.98")
    assert (returned.quantity, returned.is_return) == (Decimal(-1), True)


def test_same_arguments_same_bytes_and_many_transactions() -> None:
    assert ticket("1", 1, [Line("A")]) == ticket("1", 1, [Line("A")])
    data = document(transaction("1", n, [Line("A", voided=n % 2 == 0)]) for n in range(1, 11))
    reader = parse(io.BytesIO(data), "burst.xml")
    sales = list(reader)
    assert len(sales) == 10 and reader.stats.voided_lines == 5
