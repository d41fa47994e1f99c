"""Local-name lookups after the speed-up: same answers as a child-by-child scan, no leftovers.

The parser indexes each element's children by local name once per transaction (``_kids``);
these pin the behaviour that index must keep: any namespace or none, comments skipped, the
first body in document order, and a memo that never outlives its transaction.
"""

from __future__ import annotations

import io

from bridge.connector import Rejection
from bridge.model import Sale
from connectors.poslog import elements, parse

NS = "http://www.nrf-arts.org/IXRetail/namespace/"


def _doc(line_items: str, extra: str = "") -> bytes:
    return (
        f'<POSLog xmlns="{NS}" xmlns:v="urn:vendor"><Transaction>'
        "<BusinessUnit><UnitID>S1</UnitID></BusinessUnit>"
        "<!-- a comment among the children --><SequenceNumber>7</SequenceNumber>"
        f"<CurrencyCode>EUR</CurrencyCode>{extra}"
        f"<RetailTransaction>{line_items}</RetailTransaction>"
        "</Transaction></POSLog>"
    ).encode()


def _items(data: bytes) -> list[Sale | Rejection]:
    return list(parse(io.BytesIO(data), "t.xml"))


def test_first_body_in_document_order_wins() -> None:
    sale_first = "<LineItem><Sale><ItemID>A</ItemID></Sale><Return><ItemID>B</ItemID></Return>"
    return_first = "<LineItem><Return><ItemID>B</ItemID></Return><Sale><ItemID>A</ItemID></Sale>"
    [first] = _items(_doc(sale_first + "</LineItem>"))
    [second] = _items(_doc(return_first + "</LineItem>"))
    assert isinstance(first, Sale) and isinstance(second, Sale)
    assert (first.lines[0].sku, first.lines[0].is_return) == ("A", False)
    assert (second.lines[0].sku, second.lines[0].is_return) == ("B", True)


def test_children_match_by_local_name_in_any_namespace_or_none() -> None:
    line = (
        "<LineItem><v:Sale><ItemID xmlns=''>X1</ItemID><v:Quantity>2</v:Quantity></v:Sale>"
        "</LineItem>"
    )
    [sale] = _items(_doc(line))
    assert isinstance(sale, Sale)
    assert (sale.key.store, sale.key.sequence) == ("S1", "7")
    assert (sale.lines[0].sku, str(sale.lines[0].quantity)) == ("X1", "2")


def test_memo_is_empty_after_sales_and_rejections() -> None:
    good = "<LineItem><Sale><ItemID>A</ItemID></Sale></LineItem>"
    bad = "<LineItem><Sale><ItemID>A</ItemID><Quantity>lots</Quantity></Sale></LineItem>"
    reader = parse(io.BytesIO(_doc(good)), "t.xml")
    assert isinstance(next(reader), Sale)
    assert not elements._INDEX  # cleared before the sale is handed out
    assert isinstance(_items(_doc(bad))[0], Rejection)
    assert not elements._INDEX
