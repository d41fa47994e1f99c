"""Baskets and POSLog tills: suspended transactions written for the tills, and suspended or
resumed transactions read from them.

The written document goes back through the same parser a till's own file does, so the
round trip proves a till reading ARTS sees the basket (store, code, lines, customer) and
that Brique reading it back sees a basket, never a sale.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.connector import BasketWrite, ConnectorContext, StockWrite, WriteBatch
from bridge.errors import ConfigError
from bridge.model import (
    BasketBody,
    BasketLine,
    BasketStatus,
    CustomerRef,
    Money,
    Sale,
    SaleBody,
    SaleStatus,
)
from connectors.poslog import PosLogConfig, PosLogConnector, parse
from connectors.poslog.handoff import document, file_name
from connectors.poslog.suspended import suspended_id

NS = "http://www.nrf-arts.org/IXRetail/namespace/"


def make(**settings: Any) -> PosLogConnector:
    return PosLogConnector(PosLogConfig(**settings), ConnectorContext(connection="tills"))


def item(code: str = "K7M4QXZ3", action: str = "open", **fields: Any) -> BasketWrite:
    values: dict[str, Any] = {
        "code": code,
        "action": action,
        "currency": "EUR",
        "location": "S1",
        "lines": (
            BasketLine(
                sku="SKU-1",
                quantity=Decimal(2),
                unit_price=Money(amount=Decimal("19.99"), currency="EUR"),
            ),
            BasketLine(
                sku="SKU-2",
                quantity=Decimal("1.5"),
                unit_price=Money(amount=Decimal("4.00"), currency="EUR"),
            ),
        ),
    }
    values.update(fields)
    return BasketWrite(**values)


def write(connector: PosLogConnector, *items: BasketWrite) -> Any:
    return connector.write("baskets", WriteBatch("k", list(items)))


def only(data: bytes) -> Sale:
    (sale,) = list(parse(io.BytesIO(data), "handoff.xml"))
    assert isinstance(sale, Sale)
    return sale


def events(connector: PosLogConnector, data: bytes) -> list[Any]:
    return list(connector.parse_document("drop.xml", io.BytesIO(data)))


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    folder = tmp_path / "to-tills"
    folder.mkdir()
    return folder


def xml_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


# -- writing -------------------------------------------------------------------------------


def test_an_opened_basket_is_a_suspended_transaction_a_till_reads_back(outbox: Path) -> None:
    tills = make(handoff_folder=outbox)
    customer = CustomerRef(
        customer_id="C-9", name="Ada Lovelace", email="ada@example.com", phone="+33600000000",
        loyalty_card="LC-42",
    )  # fmt: skip
    result = write(tills, item(customer=customer))
    assert result.written == 1 and result.failed == {}
    assert result.observed["K7M4QXZ3"] == {
        "id": "K7M4QXZ3",
        "url": None,
        "file": "brique-basket-K7M4QXZ3.xml",
    }
    assert xml_files(outbox) == ["brique-basket-K7M4QXZ3.xml"]  # no temporary file left
    data = (outbox / "brique-basket-K7M4QXZ3.xml").read_bytes()

    sale = only(data)
    assert sale.status is SaleStatus.SUSPENDED and sale.stock_lines() == ()
    assert sale.key.store == "S1" and sale.key.transaction_id == "K7M4QXZ3"
    assert [(ln.sku, ln.quantity, ln.unit_price.amount) for ln in sale.lines] == [
        ("SKU-1", Decimal(2), Decimal("19.99")),
        ("SKU-2", Decimal("1.5"), Decimal("4.00")),
    ]
    assert sale.total is not None and sale.total.amount == Decimal("45.98")
    assert sale.customer is not None
    assert sale.customer.model_dump(exclude_defaults=True) == customer.model_dump(
        exclude_defaults=True
    )

    (event,) = events(make(), data)
    assert event.kind == "basket"
    (body,) = make().decode(event)
    assert isinstance(body, BasketBody)
    basket = body.basket
    assert basket.basket_id == "K7M4QXZ3" and basket.code == "K7M4QXZ3"
    assert basket.channel == "store" and basket.status is BasketStatus.ACTIVE
    assert basket.location == "S1" and basket.currency == "EUR"
    assert [(ln.sku, ln.quantity) for ln in basket.lines] == [
        ("SKU-1", Decimal(2)),
        ("SKU-2", Decimal("1.5")),
    ]
    assert basket.customer == sale.customer


def test_user_text_is_element_text_never_markup(outbox: Path) -> None:
    tricky = 'A&B <Sale>"x"</Sale>'
    result = write(
        make(handoff_folder=outbox),
        item(lines=(BasketLine(sku=tricky, quantity=Decimal(1)),),
             customer=CustomerRef(name="O'Brien & <Sons>")),
    )  # fmt: skip
    sale = only((outbox / result.observed["K7M4QXZ3"]["file"]).read_bytes())
    assert [line.sku for line in sale.lines] == [tricky]
    assert sale.customer is not None and sale.customer.name == "O'Brien & <Sons>"
    assert sale.total is None  # no price known: no total claimed


def test_opening_again_writes_nothing(outbox: Path) -> None:
    tills = make(handoff_folder=outbox)
    write(tills, item())
    target = outbox / "brique-basket-K7M4QXZ3.xml"
    before = target.stat().st_ino
    again = write(tills, item())
    assert again.written == 1 and again.observed["K7M4QXZ3"]["id"] == "K7M4QXZ3"
    assert target.stat().st_ino == before  # not replaced: the same file

    target.unlink()  # the till imported it
    assert write(tills, item()).observed["K7M4QXZ3"].get("picked_up") is None
    assert xml_files(outbox) == []  # not handed twice


def test_a_changed_basket_replaces_a_waiting_file_but_not_a_taken_one(outbox: Path) -> None:
    tills = make(handoff_folder=outbox)
    write(tills, item())
    more = item(lines=(BasketLine(sku="SKU-3", quantity=Decimal(4)),))
    write(tills, more)
    target = outbox / "brique-basket-K7M4QXZ3.xml"
    assert [line.sku for line in only(target.read_bytes()).lines] == ["SKU-3"]

    target.unlink()  # taken by the till
    taken = write(tills, item())
    assert taken.observed["K7M4QXZ3"]["picked_up"] is True
    assert xml_files(outbox) == []


def test_close_removes_a_file_the_till_has_not_taken(outbox: Path) -> None:
    tills = make(handoff_folder=outbox)
    write(tills, item())
    closed = write(tills, item(action="close"))
    assert closed.observed["K7M4QXZ3"] == {"id": "K7M4QXZ3", "closed": True, "file": None}
    assert xml_files(outbox) == []
    assert write(tills, item(action="close")).observed == closed.observed
    assert xml_files(outbox) == []


def test_close_after_the_till_took_it_writes_a_void_once(outbox: Path) -> None:
    tills = make(handoff_folder=outbox)
    write(tills, item())
    (outbox / "brique-basket-K7M4QXZ3.xml").unlink()  # taken by the till
    closed = write(tills, item(action="close", lines=()))
    void = "brique-basket-K7M4QXZ3-void.xml"
    assert closed.observed["K7M4QXZ3"] == {"id": "K7M4QXZ3", "closed": True, "file": void}
    data = (outbox / void).read_bytes()
    assert b'TransactionStatus="SuspendedDeleted"' in data
    sale = only(data)
    assert sale.status is SaleStatus.CANCELLED and sale.stock_lines() == ()
    assert sale.key.transaction_id == "K7M4QXZ3" and [ln.sku for ln in sale.lines] == [
        "SKU-1",
        "SKU-2",
    ]  # the version the till holds
    before = (outbox / void).stat().st_ino
    assert write(tills, item(action="close")).observed == closed.observed
    assert (outbox / void).stat().st_ino == before


def test_closing_a_basket_never_handed_writes_nothing(outbox: Path) -> None:
    closed = write(make(handoff_folder=outbox), item("NEVER001", action="close"))
    assert closed.observed["NEVER001"] == {"id": "NEVER001", "closed": True, "file": None}
    assert xml_files(outbox) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "../../etc/x"}, "cannot name a file"),
        ({"location": None}, "no store"),
        ({"lines": (BasketLine(sku="bad\x01sku", quantity=Decimal(1)),)}, "XML compatible"),
    ],
)
def test_a_basket_that_cannot_be_written_fails_alone(
    outbox: Path, fields: dict[str, Any], message: str
) -> None:
    bad = item(**{"code": "BAD00001", **fields})
    result = write(make(handoff_folder=outbox), bad, item("GOOD0001"))
    assert set(result.failed) == {bad.code} and message in result.failed[bad.code]
    assert result.written == 1
    assert xml_files(outbox) == ["brique-basket-GOOD0001.xml"]


def test_the_sink_needs_a_handoff_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="handoff_folder"):
        write(make(), item())
    with pytest.raises(ConfigError, match="not a folder"):
        write(make(handoff_folder=tmp_path / "missing"), item())
    with pytest.raises(ConfigError):
        make(handoff_folder=tmp_path).write(
            "baskets", WriteBatch("k", [StockWrite(sku="A", location="S1", quantity=Decimal(1))])
        )


def test_the_document_is_the_same_bytes_for_the_same_basket() -> None:
    assert document(item()) == document(item())
    assert document(item()) != document(item(currency="SEK"))
    assert file_name("K7M4QXZ3", void=True) == "brique-basket-K7M4QXZ3-void.xml"


# -- reading -------------------------------------------------------------------------------


def tx(body: str, *, status: str = "", seq: str = "7", ws: str = "3", extra: str = "") -> str:
    status_attr = f' TransactionStatus="{status}"' if status else ""
    return (
        f"<Transaction><BusinessUnit><UnitID>S1</UnitID></BusinessUnit>"
        f"<WorkstationID>{ws}</WorkstationID><SequenceNumber>{seq}</SequenceNumber>"
        f"<CurrencyCode>EUR</CurrencyCode><RetailTransaction{status_attr}>{body}{extra}"
        "</RetailTransaction><BusinessDayDate>2024-03-01</BusinessDayDate>"
        "<EndDateTime>2024-03-01T10:00:00</EndDateTime></Transaction>"
    )


def line(sku: str = "SKU-1", qty: str = "1", attrs: str = "") -> str:
    return (
        f"<LineItem{attrs}><SequenceNumber>1</SequenceNumber><Sale><ItemID>{sku}</ItemID>"
        f"<ActualSalesUnitPrice>5.00</ActualSalesUnitPrice><Quantity>{qty}</Quantity>"
        "</Sale></LineItem>"
    )


def doc(*transactions: str) -> bytes:
    return f'<POSLog xmlns="{NS}">{"".join(transactions)}</POSLog>'.encode()


RESUME = (
    '<TransactionLink ReasonCode="Resume"><BusinessUnit><UnitID>S1</UnitID></BusinessUnit>'
    "<WorkstationID>3</WorkstationID><SequenceNumber>7</SequenceNumber>"
    "<BusinessDayDate>2024-03-01</BusinessDayDate></TransactionLink>"
)


def test_a_suspended_ticket_is_a_store_basket_and_its_resumption_names_it() -> None:
    connector = make()
    found = events(
        connector,
        doc(tx(line(qty="2"), status="Suspended"), tx(line(qty="2"), seq="8", extra=RESUME)),
    )
    kinds = [event.kind for event in found]
    assert kinds == ["basket", "sale"]  # the suspended ticket is not journaled as a sale
    (basket_body,) = connector.decode(found[0])
    (sale_body,) = connector.decode(found[1])
    assert isinstance(basket_body, BasketBody) and isinstance(sale_body, SaleBody)
    basket, sale = basket_body.basket, sale_body.sale
    assert basket.basket_id == "S1/3/2024-03-01/7" and basket.code is None
    assert basket.channel == "store" and basket.location == "S1"
    assert basket.lines[0].unit_price == Money(amount=Decimal("5.00"), currency="EUR")
    assert sale.status is SaleStatus.COMPLETED and sale.basket == basket.basket_id
    assert found[0].key == "suspended/S1/3/2024-03-01/7"


def test_a_resume_link_by_transaction_id_names_the_handoff_code() -> None:
    link = '<TransactionLink ReasonCode="Resume"><TransactionID>K7M4QXZ3</TransactionID>'
    sale = only(doc(tx(line(), extra=link + "</TransactionLink>")))
    assert sale.basket == "K7M4QXZ3"
    assert sale.link is not None and sale.link.transaction_id == "K7M4QXZ3"


def test_links_that_do_not_resume_name_no_basket() -> None:
    returned = '<TransactionLink ReasonCode="Return"><SequenceNumber>3</SequenceNumber>'
    assert only(doc(tx(line(), extra=returned + "</TransactionLink>"))).basket is None
    assert only(doc(tx(line()))).basket is None
    anonymous = '<TransactionLink ReasonCode="Resume"></TransactionLink>'
    assert only(doc(tx(line(), extra=anonymous))).basket is None


def test_retrieved_or_empty_suspended_tickets_are_no_baskets() -> None:
    retrieved = only(doc(tx(line(), status="SuspendedRetrieved")))
    assert retrieved.status is SaleStatus.OTHER and retrieved.stock_lines() == ()
    voided = doc(tx(line(attrs=' VoidFlag="true"'), status="Suspended"))
    assert events(make(), voided) == []


def test_suspended_id_is_shared_by_both_sides() -> None:
    from datetime import date

    assert suspended_id("S1", "3", date(2024, 3, 1), "7", None) == "S1/3/2024-03-01/7"
    assert suspended_id("S1", None, None, "7", None) == "S1/-/-/7"
    assert suspended_id("S1", "3", None, "7", "K7M4QXZ3") == "K7M4QXZ3"
    assert suspended_id("S1", "3", None, None, None) is None


def test_a_dropped_suspended_ticket_is_read_as_a_basket(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    path = drop / "till.xml"
    path.write_bytes(doc(tx(line(), status="Suspended")))
    os.utime(path, (1, 1))
    connector = make(drop_folder=drop)
    pages = list(connector.read("sales"))
    assert [e.kind for p in pages for e in p.events] == ["basket"]


def test_the_ncr_corpus_resumption_names_the_suspended_ticket(
    corpus: Path, parse_file: Callable[..., Any]
) -> None:
    sales, rejections, _ = parse_file(corpus / "ncr-acs-v21-51-transactions.xml")
    assert not rejections
    resumed = {s.key.as_string(): s.basket for s in sales if s.basket}
    assert resumed == {"9/31/2017-10-01/114": "9/32/2017-10-01/111"}


def test_every_corpus_file_still_reads(corpus: Path) -> None:
    connector = make(default_currency="EUR")
    for path in sorted(corpus.glob("*.xml")):
        found = list(connector.parse_document(path.name, io.BytesIO(path.read_bytes())))
        assert found, path.name
        assert all(getattr(e, "kind", "sale") == "sale" for e in found), path.name
