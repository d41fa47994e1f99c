"""The POSLog parser on small hand-written files: variants, returns, voids, hostile input."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.connector import Rejection
from bridge.errors import DataError
from bridge.model import Sale, SaleStatus
from connectors.poslog import parse

NS = "http://www.nrf-arts.org/IXRetail/namespace/"


def doc(*transactions: str, ns: str = NS) -> bytes:
    return (f'<?xml version="1.0"?>\n<POSLog xmlns="{ns}">' + "".join(transactions)).encode() + (
        b"</POSLog>"
    )


def tx(
    lines: str = "",
    *,
    attrs: str = "",
    status: str = "",
    header: str = "<CurrencyCode>EUR</CurrencyCode>",
    seq: str = "1",
    extra: str = "",
) -> str:
    status_attr = f' TransactionStatus="{status}"' if status else ""
    return (
        f"<Transaction{attrs}><BusinessUnit><UnitID>S1</UnitID></BusinessUnit>"
        f"<WorkstationID>3</WorkstationID><SequenceNumber>{seq}</SequenceNumber>{header}"
        f"<RetailTransaction{status_attr}>{lines}{extra}</RetailTransaction>"
        "<BusinessDayDate>2024-03-01</BusinessDayDate>"
        "<EndDateTime>2024-03-01T10:00:00</EndDateTime></Transaction>"
    )


def sale_line(
    sku: str = "SKU-1", qty: str = "1", *, no: str = "1", attrs: str = "", body: str = ""
) -> str:
    return (
        f"<LineItem{attrs}><SequenceNumber>{no}</SequenceNumber><Sale><ItemID>{sku}</ItemID>"
        f"<Quantity>{qty}</Quantity>{body}</Sale></LineItem>"
    )


def run(data: bytes, source: str = "test.xml", **options: Any) -> list[Sale | Rejection]:
    return list(parse(io.BytesIO(data), source, **options))


def one_sale(data: bytes, **options: Any) -> Sale:
    (item,) = run(data, **options)
    assert isinstance(item, Sale), item
    return item


# --------------------------------------------------------------------------- variants


def test_v600_poslog_namespace_with_prefix(data_dir: Path, parse_file: Callable) -> None:
    sales, rejections, stats = parse_file(data_dir / "v6-poslog-namespace.xml")
    assert rejections == []
    assert stats.transactions == 2 and stats.sales == 2
    sale, training = sales
    assert sale.key.as_string() == "S042/7/2024-03-01/1001"
    assert sale.status is SaleStatus.COMPLETED
    assert sale.currency == "EUR"
    assert training.status is SaleStatus.TRAINING
    assert training.stock_lines() == ()


def test_weighed_quantity_is_an_exact_decimal(data_dir: Path, parse_file: Callable) -> None:
    (sale, _), _, _ = parse_file(data_dir / "v6-poslog-namespace.xml")
    apples = sale.lines[0]
    assert apples.quantity == Decimal("0.754") and str(apples.quantity) == "0.754"
    assert apples.unit == "KGM"
    assert (apples.sku, apples.barcode) == ("APPLE-BIO", "2000000007549")
    assert apples.unit_price is not None and apples.unit_price.amount == Decimal("2.90")
    assert apples.discount is not None and apples.discount.amount == Decimal("0.23")
    assert apples.amount is not None and apples.amount.amount == Decimal("2.19")


def test_voided_line_is_kept_but_moves_no_stock(data_dir: Path, parse_file: Callable) -> None:
    (sale, _), _, stats = parse_file(data_dir / "v6-poslog-namespace.xml")
    socks = sale.lines[1]
    assert socks.voided is True and socks.quantity == 1 and not socks.is_return
    assert [line.sku for line in sale.stock_lines()] == ["APPLE-BIO"]
    assert stats.voided_lines == 1 and stats.reversed_lines == 0


def test_nested_tender_change_is_a_refund_tender(data_dir: Path, parse_file: Callable) -> None:
    (sale, _), _, stats = parse_file(data_dir / "v6-poslog-namespace.xml")
    assert [(t.kind, t.amount.amount, t.refund) for t in sale.tenders] == [
        ("Cash", Decimal("5.00"), False),
        ("Cash", Decimal("2.81"), True),
    ]
    assert stats.tenders == 1 and stats.tender_changes == 1


def test_customer_reference(data_dir: Path, parse_file: Callable) -> None:
    (sale, _), _, _ = parse_file(data_dir / "v6-poslog-namespace.xml")
    assert sale.customer is not None
    assert sale.customer.customer_id == "C-77"
    assert sale.customer.name == "Ada Lovelace"
    assert sale.customer.email == "ada@example.org"
    assert sale.customer.phone == "+33 1 23 45 67 89"


def test_return_element_with_transaction_link(data_dir: Path, parse_file: Callable) -> None:
    (sale,), _, stats = parse_file(data_dir / "return-with-link.xml")
    (line,) = sale.lines
    assert line.is_return is True
    assert line.quantity == Decimal(-2)  # positive in the file, negative in the model
    assert line.link is not None
    assert line.link.store == "S007"
    assert line.link.workstation == "1"
    assert line.link.sequence == "4711"
    assert line.link.business_day == date(2024, 2, 20)
    assert line.link.line == "3"
    assert sale.tenders[0].refund is True
    assert sale.key.as_string() == "S042/tx/S042-2-88"
    assert sale.occurred_at is not None and sale.occurred_at.utcoffset() is not None
    assert sale.stock_lines() == (line,)
    assert stats.returns == 1


def test_v2_header_and_version_attribute() -> None:
    data = doc(
        "<Transaction><RetailStoreID>9</RetailStoreID><WorkstationID>34</WorkstationID>"
        "<SequenceNumber>161</SequenceNumber><BusinessDayDate>2017-09-30</BusinessDayDate>"
        "<CurrencyCode>USD</CurrencyCode>"
        f'<RetailTransaction Version="2.1">{sale_line()}</RetailTransaction></Transaction>'
    )
    sale = one_sale(data)
    assert sale.key.as_string() == "9/34/2017-09-30/161"


def test_transaction_link_on_the_ticket() -> None:
    link = "<TransactionLink><TransactionID>T-1</TransactionID></TransactionLink>"
    sale = one_sale(doc(tx(sale_line(), status="PostVoided", extra=link)))
    assert sale.status is SaleStatus.VOIDED
    assert sale.link is not None and sale.link.transaction_id == "T-1"


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("status", "attrs", "expected"),
    [
        ("", "", SaleStatus.COMPLETED),
        ("Finished", "", SaleStatus.COMPLETED),
        ("Canceled", "", SaleStatus.CANCELLED),
        ("Voided", "", SaleStatus.VOIDED),
        ("TransactionVoided", "", SaleStatus.VOIDED),
        ("PostVoided", "", SaleStatus.VOIDED),
        ("Suspended", "", SaleStatus.SUSPENDED),
        ("InProcess", "", SaleStatus.OTHER),
        ("", ' CancelFlag="true"', SaleStatus.CANCELLED),
        ("Finished", ' TrainingModeFlag="true"', SaleStatus.TRAINING),
        ("Finished", ' TrainingModeFlag="false" CancelFlag="false"', SaleStatus.COMPLETED),
    ],
)
def test_status(status: str, attrs: str, expected: SaleStatus) -> None:
    sale = one_sale(doc(tx(sale_line(), status=status, attrs=attrs)))
    assert sale.status is expected
    assert (sale.stock_lines() != ()) is (expected is SaleStatus.COMPLETED)


# --------------------------------------------------------------------------- lines


def test_negative_sale_is_a_return() -> None:
    (line,) = one_sale(doc(tx(sale_line(qty="-1.0000")))).lines
    assert line.is_return is True and line.quantity == Decimal("-1.0000")


def test_void_line_reverses_the_earlier_line() -> None:
    """NCR ACS: the voided line stays unflagged; a flagged negative line cancels it."""
    lines = (
        sale_line("A", "1", no="1")
        + sale_line("B", "2", no="2")
        + sale_line("A", "-1", no="3", attrs=' VoidFlag="true"')
    )
    items = list(parse(io.BytesIO(doc(tx(lines))), "t.xml"))
    (sale,) = items
    assert isinstance(sale, Sale)
    assert [(x.sku, x.voided, x.is_return) for x in sale.lines] == [
        ("A", True, False),
        ("B", False, False),
        ("A", True, False),
    ]
    assert [x.sku for x in sale.stock_lines()] == ["B"]


def test_cancel_and_delete_flags_void_a_line() -> None:
    lines = sale_line("A", attrs=' CancelFlag="true"') + sale_line("B", attrs=' DeleteFlag="1"')
    sale = one_sale(doc(tx(lines)))
    assert all(line.voided for line in sale.lines)


def test_sku_falls_back_to_pos_identity() -> None:
    line = (
        "<LineItem><Sale><POSIdentity POSIDType='GTIN'><POSItemID>0123</POSItemID></POSIdentity>"
        "<POSIdentity POSIDType='RSID'><POSItemID>A-9</POSItemID></POSIdentity>"
        "<Quantity>1</Quantity></Sale></LineItem>"
    )
    (parsed,) = one_sale(doc(tx(line))).lines
    assert (parsed.sku, parsed.barcode, parsed.line_no) == ("A-9", "0123", "1")


def test_quantity_defaults_to_one_and_units_do_not_multiply() -> None:
    lines = (
        "<LineItem><Sale><ItemID>A</ItemID></Sale></LineItem>"
        '<LineItem><Sale><ItemID>B</ItemID><Quantity Units="0.00">2</Quantity></Sale></LineItem>'
    )
    sale = one_sale(doc(tx(lines)))
    assert [x.quantity for x in sale.lines] == [Decimal(1), Decimal(2)]


# --------------------------------------------------------------------------- currency, time


def test_xxx_currency_is_ignored_and_transaction_currency_used() -> None:
    body = '<ExtendedAmount Currency="XXX">5.00</ExtendedAmount>'
    (line,) = one_sale(
        doc(tx(sale_line(body=body), header="<CurrencyCode>SEK</CurrencyCode>"))
    ).lines
    assert line.amount is not None and line.amount.currency == "SEK"


def test_element_currency_wins_and_names_the_sale_when_header_has_none() -> None:
    body = '<ExtendedAmount Currency="GBP">5.00</ExtendedAmount>'
    sale = one_sale(doc(tx(sale_line(body=body), header="")), default_currency="EUR")
    assert sale.currency == "GBP"


def test_default_currency_from_config() -> None:
    sale = one_sale(doc(tx(sale_line(), header="")), default_currency="chf")
    assert sale.currency == "CHF"


def test_no_currency_at_all_is_a_rejection() -> None:
    (item,) = run(doc(tx(sale_line(), header="")))
    assert isinstance(item, Rejection)
    assert "default_currency" in item.error


def test_naive_times_stay_naive_unless_a_zone_is_given() -> None:
    data = doc(tx(sale_line()))
    assert one_sale(data).occurred_at.tzinfo is None  # type: ignore[union-attr]
    zoned = one_sale(data, timezone=ZoneInfo("Europe/Stockholm")).occurred_at
    assert zoned is not None and zoned.utcoffset() is not None


# --------------------------------------------------------------------------- bad input


def test_invalid_transaction_is_rejected_and_the_others_parsed(
    data_dir: Path, parse_file: Callable
) -> None:
    sales, rejections, stats = parse_file(data_dir / "invalid-among-valid.xml")
    assert [s.lines[0].sku for s in sales] == ["A1", "C3"]
    assert stats.rejected == 2 and stats.sales == 2
    missing, bad_number = rejections
    assert missing.source == "invalid-among-valid.xml:15"
    assert "no ItemID" in missing.error and "transaction #2 at line 10" in missing.error
    assert bad_number.source == "invalid-among-valid.xml:25"
    assert "'1,5' is not a decimal number" in bad_number.error
    assert "<ItemID>B2</ItemID>" in bad_number.payload


def test_bad_date_is_a_rejection() -> None:
    data = doc(tx(sale_line()).replace("2024-03-01T10:00:00", "yesterday"))
    (item,) = run(data)
    assert isinstance(item, Rejection) and "yesterday" in item.error


def test_nan_amount_is_a_rejection() -> None:
    (item,) = run(doc(tx(sale_line(body="<ExtendedAmount>NaN</ExtendedAmount>"))))
    assert isinstance(item, Rejection) and "finite" in item.error


def test_missing_store_is_a_rejection() -> None:
    data = doc(tx(sale_line()).replace("<BusinessUnit><UnitID>S1</UnitID></BusinessUnit>", ""))
    (item,) = run(data)
    assert isinstance(item, Rejection) and "no store" in item.error


def test_malformed_xml_names_file_line_and_column(data_dir: Path, parse_file: Callable) -> None:
    with pytest.raises(DataError, match=r"^malformed\.xml:7:\d+: Opening and ending tag"):
        parse_file(data_dir / "malformed.xml")


def test_truncated_document() -> None:
    with pytest.raises(DataError, match=r"^cut\.xml:\d+:\d+: "):
        run(doc(tx(sale_line()))[:-30], source="cut.xml")


def test_not_xml_at_all() -> None:
    with pytest.raises(DataError, match=r"^junk\.xml:1:\d+: "):
        run(b"PK\x03\x04 this is a zip", source="junk.xml")


# --------------------------------------------------------------------------- hostile input


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_billion_laughs_is_refused_quickly(
    data_dir: Path, parse_file: Callable, no_network: None
) -> None:
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"^billion-laughs\.xml:2: DOCTYPE/ENTITY"):
        parse_file(data_dir / "billion-laughs.xml")
    assert time.perf_counter() - started < 1


def test_external_entity_is_refused(data_dir: Path, parse_file: Callable, no_network: None) -> None:
    with pytest.raises(DataError, match=r"^external-entity\.xml:3: DOCTYPE") as caught:
        parse_file(data_dir / "external-entity.xml")
    assert "root:" not in str(caught.value)


def test_doctype_in_utf16_is_refused_too(no_network: None) -> None:
    """A UTF-16 prolog is decoded before the byte scan looks for declarations."""
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE POSLog SYSTEM "x.dtd">\n<POSLog/>'
    with pytest.raises(DataError, match="DOCTYPE"):
        run(text.encode("utf-16"))


def test_doctype_is_refused_by_lxml_gate_when_byte_scan_gives_up(
    monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setattr("connectors.poslog.xmlsafe._GuardedStream._scan_prolog", lambda self: None)
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE POSLog [<!ENTITY e "x">]>\n' + doc(tx(sale_line()))[22:]
    )
    with pytest.raises(DataError, match="DOCTYPE"):
        run(data)


def test_comment_and_pi_before_root_are_fine() -> None:
    data = (
        b'<?xml version="1.0"?>\n<!-- <!DOCTYPE in a comment> -->\n<?pi x?>\n'
        + doc(tx(sale_line()))[22:]
    )
    assert isinstance(one_sale(data), Sale)


def test_document_over_max_bytes_is_refused() -> None:
    data = doc(*(tx(sale_line(), seq=str(n)) for n in range(50)))
    with pytest.raises(DataError, match=r"^big\.xml: document larger than max_bytes=1000"):
        run(data, source="big.xml", max_bytes=1000)


# --------------------------------------------------------------------------- streaming


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.served = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.served += len(chunk)
        return chunk


def test_sales_are_yielded_before_the_whole_file_is_read() -> None:
    data = doc(*(tx(sale_line(), seq=str(n)) for n in range(5000)))
    stream = CountingStream(data)
    reader = parse(stream, "day.xml")
    first = next(reader)
    assert isinstance(first, Sale)
    assert stream.served < len(data) / 10
    assert sum(1 for _ in reader) == 4999
    assert reader.stats.sales == 5000 and reader.stats.bytes_read == len(data)


def test_control_and_other_transactions_are_counted_not_emitted() -> None:
    control = (
        "<Transaction><RetailStoreID>1</RetailStoreID><SequenceNumber>9</SequenceNumber>"
        "<ControlTransaction><ReasonCode>SignOn</ReasonCode></ControlTransaction></Transaction>"
    )
    tender = (
        "<Transaction><RetailStoreID>1</RetailStoreID><SequenceNumber>10</SequenceNumber>"
        "<TenderControlTransaction/></Transaction>"
    )
    reader = parse(io.BytesIO(doc(control, tx(sale_line()), tender)), "mixed.xml")
    assert len(list(reader)) == 1
    assert reader.stats.transactions == 3
    assert reader.stats.skipped == {"ControlTransaction": 1, "TenderControlTransaction": 1}
    assert reader.stats.control == 1


# --------------------------------------------------------------------------- property


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=Decimal("-99999"), max_value=Decimal("99999"), allow_nan=False, places=4)
    | st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9)
)
def test_quantity_text_round_trips_exactly(value: Decimal) -> None:
    text = format(value, "f")
    (line,) = one_sale(doc(tx(sale_line(qty=text)))).lines
    assert line.quantity == value
    assert format(line.quantity, "f") == text
    assert line.is_return is (value < 0)
