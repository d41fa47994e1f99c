"""Small, valid POSLog V6 documents built in code, for tests, demos and benchmarks.

Deterministic on purpose: the same arguments give the same bytes, so dropping a ticket
twice exercises the inbox's duplicate detection (same ticket key) rather than a new sale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

NAMESPACE = "http://www.nrf-arts.org/IXRetail/namespace/"
BUSINESS_DAY = date(2026, 11, 23)


@dataclass(frozen=True)
class Line:
    """One item line: ``returned`` writes a standard ``<Return>`` with a positive quantity."""

    sku: str
    quantity: str = "1"
    returned: bool = False
    price: str = "19.99"
    voided: bool = False


def _line(number: int, line: Line, currency: str) -> str:
    element = "Return" if line.returned else "Sale"
    amount = Decimal(line.price) * Decimal(line.quantity)
    void = ' VoidFlag="true"' if line.voided else ""
    return (
        f"<LineItem{void}><SequenceNumber>{number}</SequenceNumber><{element}>"
        f"<ItemID>{escape(line.sku)}</ItemID>"
        f'<ActualSalesUnitPrice Currency="{currency}">{line.price}</ActualSalesUnitPrice>'
        f'<ExtendedAmount Currency="{currency}">{amount}</ExtendedAmount>'
        f'<Quantity UnitOfMeasureCode="EA">{escape(line.quantity)}</Quantity>'
        f"</{element}></LineItem>"
    )


def transaction(
    store: str,
    sequence: int,
    lines: Sequence[Line],
    *,
    workstation: str = "01",
    business_day: date = BUSINESS_DAY,
    currency: str = "EUR",
    status: str | None = None,
) -> str:
    """One ``<Transaction>`` element (text), keyed store/workstation/day/sequence."""
    status_attr = f' TransactionStatus="{escape(status)}"' if status else ""
    body = "".join(_line(n, line, currency) for n, line in enumerate(lines, start=1))
    return (
        "<Transaction>"
        f"<BusinessUnit><UnitID>{escape(store)}</UnitID></BusinessUnit>"
        f"<WorkstationID>{escape(workstation)}</WorkstationID>"
        f"<SequenceNumber>{sequence}</SequenceNumber>"
        f"<CurrencyCode>{currency}</CurrencyCode>"
        f"<RetailTransaction{status_attr}>{body}</RetailTransaction>"
        f"<BusinessDayDate>{business_day.isoformat()}</BusinessDayDate>"
        f"<EndDateTime>{business_day.isoformat()}T12:00:00</EndDateTime>"
        "</Transaction>"
    )


def document(transactions: Iterable[str]) -> bytes:
    """A complete POSLog file holding ``transactions``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<POSLog xmlns="{NAMESPACE}" MajorVersion="6" MinorVersion="0" FixVersion="0">\n'
        + "\n".join(transactions)
        + "\n</POSLog>\n"
    ).encode()


def ticket(store: str, sequence: int, lines: Sequence[Line], **options: object) -> bytes:
    """A file holding one ticket."""
    return document([transaction(store, sequence, lines, **options)])  # type: ignore[arg-type]
