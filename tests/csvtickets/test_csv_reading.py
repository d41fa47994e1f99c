"""Reading CSV ticket exports: grouping, returns, decimals, identifiers, times, rejections."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bridge.connector import Capability, InboundEvent
from bridge.errors import DataError
from bridge.model import CustomerRef, Money, Sale, SaleBody, SaleStatus, Tender, TicketLink
from connectors.csvtickets import CsvColumns, CsvConfig, CsvTicketsConnector
from connectors.csvtickets.values import parse_decimal
from tests.csvtickets.support import COLUMNS, events, make, parse, rejections


def sale_of(conn: CsvTicketsConnector, event: InboundEvent) -> Sale:
    (body,) = conn.decode(event)
    assert isinstance(body, SaleBody)
    return body.sale


def read_text(conn: CsvTicketsConnector, text: str, name: str = "inline.csv") -> list:
    return list(conn.parse_document(name, io.BytesIO(text.encode())))


# --------------------------------------------------------------------------- grouping


def test_rows_are_grouped_into_tickets_in_file_order() -> None:
    conn = make(columns=COLUMNS)
    items = parse(conn, "tickets.csv")
    assert not rejections(items)
    assert [e.key for e in events(items)] == [
        "1001/02/2026-11-23/42",
        "1001/02/2026-11-23/43",
        "1001/02/2026-11-23/44",
        "1002/01/2026-11-23/42",  # same number in another store: another ticket
    ]
    first = events(items)[0]
    assert first.kind == "sale"
    assert [line["row"] for line in first.payload["lines"]] == [2, 4, 5]  # not contiguous
    sale = sale_of(conn, first)
    assert [(li.line_no, li.sku, li.quantity, li.voided) for li in sale.lines] == [
        ("1", "TSHIRT-RED-M", Decimal(2), False),
        ("2", "MUG-WHITE", Decimal(1), False),
        ("3", "JEANS-32", Decimal(1), True),
    ]
    assert [li.sku for li in sale.stock_lines()] == ["TSHIRT-RED-M", "MUG-WHITE"]
    assert sale.lines[0].unit_price == Money(amount=Decimal("19.90"), currency="EUR")
    assert sale.lines[0].amount == Money(amount=Decimal("39.80"), currency="EUR")
    assert sale.lines[0].barcode == "3600000000017"
    assert sale.tenders == (
        Tender(kind="card", amount=Money(amount=Decimal("47.79"), currency="EUR")),
    )
    assert sale.customer == CustomerRef(loyalty_card="LC-0007")
    assert sale.status is SaleStatus.COMPLETED
    assert sale.key.business_day == date(2026, 11, 23) and sale.key.workstation == "02"
    assert sale.occurred_at == datetime(2026, 11, 23, 10, 15)  # naive: no timezone configured
    assert first.occurred_at == sale.occurred_at
    last = sale_of(conn, events(items)[3])
    assert last.customer == CustomerRef(email="jane@example.com")


def test_unmapped_columns_travel_as_extra_for_the_mapping() -> None:
    conn = make(columns=COLUMNS)
    first = events(parse(conn, "tickets.csv"))[0]
    assert [line["extra"] for line in first.payload["lines"]] == [
        {"Colour": "red"},
        {"Colour": "white"},
        {"Colour": "blue"},
    ]
    assert first.payload["source"] == "tickets.csv" and first.payload["row"] == 2


def test_line_numbers_default_to_the_position_in_the_ticket() -> None:
    conn = make(default_currency="EUR")
    items = read_text(conn, "store,ticket,sku,quantity\n1,7,A,1\n1,8,X,1\n1,7,B,2\n")
    sale = sale_of(conn, events(items)[0])
    assert [(li.line_no, li.sku) for li in sale.lines] == [("1", "A"), ("2", "B")]


def test_ticket_ids_key_by_transaction_id() -> None:
    conn = make(default_currency="EUR", ticket_kind="id")
    (event,) = read_text(conn, "store,ticket,sku,quantity,return_of\n1,T-9,A,-1,T-3\n")
    assert event.key == "1/tx/T-9"
    sale = sale_of(conn, event)
    assert sale.key.transaction_id == "T-9" and sale.key.sequence is None
    assert sale.lines[0].link == TicketLink(store="1", transaction_id="T-3")


# --------------------------------------------------------------------------- returns


def test_negative_quantities_are_returns_linked_to_the_original() -> None:
    conn = make(columns=COLUMNS)
    ret = sale_of(conn, events(parse(conn, "tickets.csv"))[2])
    (line,) = ret.lines
    assert line.is_return and line.quantity == Decimal(-1)
    assert line.amount == Money(amount=Decimal("-19.90"), currency="EUR"), "sign follows qty"
    assert line.link == TicketLink(store="1001", sequence="42")
    assert ret.link == line.link
    assert ret.tenders == (
        Tender(kind="cash", amount=Money(amount=Decimal("-19.90"), currency="EUR"), refund=True),
    )
    assert [li.quantity for li in ret.stock_lines()] == [Decimal(-1)]


# --------------------------------------------------------------------------- numbers, ids


SWEDISH = {
    "store": "butik",
    "workstation": "kassa",
    "business_day": "datum",
    "ticket": "kvitto",
    "sku": "artikel",
    "quantity": "antal",
    "unit_price": "pris",
    "amount": "belopp",
}


def test_semicolons_decimal_commas_and_a_bom() -> None:
    conn = make(columns=SWEDISH, delimiter=";", decimal_comma=True, default_currency="SEK")
    items = parse(conn, "semicolon-comma.csv")
    assert not rejections(items)
    first, second = (sale_of(conn, e) for e in events(items))
    weighed, dear = first.lines
    assert weighed.quantity == Decimal("0.375")  # weighed: stays an exact Decimal
    assert weighed.unit_price == Money(amount=Decimal("129.00"), currency="SEK")
    assert weighed.amount == Money(amount=Decimal("48.38"), currency="SEK")
    assert dear.unit_price == Money(amount=Decimal("1234.50"), currency="SEK")
    assert second.lines[0].unit_price == Money(amount=Decimal("1234.50"), currency="SEK")
    assert second.lines[0].amount == Money(amount=Decimal("-1234.50"), currency="SEK")
    payload_line = events(items)[0].payload["lines"][0]
    assert payload_line["quantity"] == "0.375" and payload_line["unit_price"] == "129.00"
    assert first.key.store == "12"  # the BOM is not part of the first header


def test_identifiers_keep_their_leading_zeros() -> None:
    conn = make(columns=COLUMNS)
    sale = sale_of(conn, events(parse(conn, "tickets.csv"))[1])
    assert sale.lines[0].sku == "000123"
    assert sale.lines[0].barcode == "0012345678905"
    assert sale.key.workstation == "02"
    swedish = make(columns=SWEDISH, delimiter=";", decimal_comma=True, default_currency="SEK")
    first = sale_of(swedish, events(parse(swedish, "semicolon-comma.csv"))[0])
    assert [li.sku for li in first.lines] == ["0000012345", "00789"]


def test_no_float_anywhere_in_decoded_sales() -> None:
    conn = make(columns=COLUMNS)
    for event in events(parse(conn, "tickets.csv")):
        sale = sale_of(conn, event)
        for line in sale.lines:
            assert isinstance(line.quantity, Decimal)
            for money in (line.unit_price, line.amount):
                assert money is None or isinstance(money.amount, Decimal)


@pytest.mark.parametrize(
    ("text", "comma", "expected"),
    [
        ("12.50", False, "12.50"),
        ("-3", False, "-3"),
        ("+0.375", False, "0.375"),
        ("1 234.5", False, "1234.5"),
        ("12,50", True, "12.50"),
        ("1.234,50", True, "1234.50"),
        ("-1.234.567,8", True, "-1234567.8"),
        ("1\u00a0234,50", True, "1234.50"),
    ],
)
def test_decimals_are_read_exactly(text: str, comma: bool, expected: str) -> None:
    value = parse_decimal(text, decimal_comma=comma)
    assert value == Decimal(expected) and str(value) == expected


@pytest.mark.parametrize(
    ("text", "comma", "message"),
    [
        ("12,50", False, "set decimal_comma: true"),
        ("1,234.50", False, "set decimal_comma: true"),
        ("1.234", True, "decimal comma"),  # 1234 or 1.234? refused, never guessed
        ("12.5", True, "decimal comma"),
        ("NaN", False, "not a number"),
        ("1e3", False, "not a number"),
        ("", False, "not a number"),
        ("two", False, "not a number"),
    ],
)
def test_ambiguous_or_bad_decimals_are_refused(text: str, comma: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_decimal(text, decimal_comma=comma)


# --------------------------------------------------------------------------- rejections


def test_a_bad_row_rejects_only_its_ticket() -> None:
    conn = make()  # headers are the canonical names
    items = parse(conn, "bad-rows.csv")
    assert [e.key for e in events(items)] == ["1001/-/-/1", "1001/-/-/4"]
    assert [len(e.payload["lines"]) for e in events(items)] == [2, 1]
    bad_quantity, no_sku = rejections(items)
    assert bad_quantity.source == "bad-rows.csv:3"
    assert bad_quantity.error == (
        "ticket 1001/-/-/2: bad-rows.csv:3: quantity (quantity): 'two' is not a number"
    )
    assert bad_quantity.payload == "store,ticket,sku,quantity,currency\n1001,2,B,two,EUR\n" + (
        "1001,2,E,1,EUR\n"
    ), "the dead letter keeps the ticket's rows"
    assert no_sku.source == "bad-rows.csv:4"
    assert no_sku.error == "ticket 1001/-/-/3: bad-rows.csv:4: no sku (sku)"


def test_every_bad_value_of_a_ticket_is_named() -> None:
    conn = make(default_currency="EUR")
    text = (
        "store,ticket,line,sku,quantity,amount,voided,tender\n"
        "1,5,1,A,1,1;5,maybe,cash\n"
        "1,5,1,B,1,2,,card\n"
    )
    (rejection,) = read_text(conn, text)
    assert rejection.source == "inline.csv:2"
    assert rejection.error.split("; ") == [
        "ticket 1/-/-/5: inline.csv:2: amount (amount): '1;5' is not a number",
        "inline.csv:2: voided (voided): 'maybe' is neither yes (1, true, yes, x) nor no "
        "(0, false, no)",
        "inline.csv:3: tender (tender) is 'card' here but 'cash' on line 2 of the same ticket",
        "inline.csv:3: line number '1' is used twice in the ticket",
    ]


def test_repeated_ticket_columns_may_differ_in_writing_only() -> None:
    conn = make(default_currency="EUR")
    text = "store,ticket,sku,quantity,tender,tender_amount\n1,5,A,1,card,12.5\n1,5,B,1,card,12.50\n"
    (event,) = read_text(conn, text)
    assert sale_of(conn, event).tenders[0].amount.amount == Decimal("12.5")


def test_a_ticket_without_currency_is_rejected_with_the_fix() -> None:
    (rejection,) = read_text(make(), "store,ticket,sku,quantity\n1,5,A,1\n")
    assert rejection.source == "inline.csv:2"
    assert "no currency: map a currency column or set default_currency" in rejection.error


def test_a_missing_column_rejects_the_file_naming_file_column_and_header() -> None:
    conn = make(columns={"store": "Store", "ticket": "Receipt", "sku": "Item", "quantity": "Qty"})
    with pytest.raises(DataError) as caught:
        parse(conn, "missing-column.csv")
    assert str(caught.value) == (
        "missing-column.csv:1: missing column 'Qty' (quantity); "
        "header found: ['Store', 'Receipt', 'Item', 'Quantity']"
    )


def test_a_configured_optional_column_missing_rejects_the_file_too() -> None:
    # A "Void" column gone from the export would otherwise sell voided lines.
    conn = make(columns={**COLUMNS, "voided": "Voided"})
    with pytest.raises(DataError, match=r"missing column 'Voided' \(voided\)"):
        parse(conn, "tickets.csv")


def test_headers_match_exactly_then_ignoring_case_and_never_twice() -> None:
    conn = make(default_currency="EUR")
    (event,) = read_text(conn, " Store ,TICKET,Sku,Quantity\n1,5,A,1\n")
    assert event.key == "1/-/-/5"
    with pytest.raises(DataError, match="'sku' \\(sku\\) is in the header 2 times"):
        read_text(conn, "store,ticket,SKU,Sku,quantity\n1,5,A,B,1\n")


def test_a_wrong_delimiter_is_hinted() -> None:
    with pytest.raises(DataError, match="one column only: is the delimiter ';'"):
        read_text(make(), "store;ticket;sku;quantity\n1;5;A;1\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "inline.csv: empty file: no header row"),
        (
            "store,ticket,sku,quantity\n1,5,A,1\n1,6,A,1,extra\n1,7,B\n",
            "inline.csv:3: 5 fields, the header has 4",
        ),
        ("store,ticket,sku,quantity\n1,,A,1\n", "inline.csv:2: no ticket (column 'ticket')"),
        (
            'store,ticket,sku,quantity\n1,5,"A,1\n',
            "inline.csv:2: unexpected end of data",
        ),
        (
            "store,ticket,sku,quantity,business_day\n1,5,A,1,23/11/2026\n",
            "inline.csv:2: business_day (business_day): '23/11/2026' is not an ISO 8601 date",
        ),
    ],
)
def test_rows_that_cannot_be_given_to_a_ticket_reject_the_file(text: str, message: str) -> None:
    with pytest.raises(DataError) as caught:
        read_text(make(default_currency="EUR"), text)
    assert str(caught.value).startswith(message)


def test_file_level_problems_are_all_listed() -> None:
    text = "store,ticket,sku,quantity\n1,5,A,1,x\n,6,A,1\n1,7,B\n"
    with pytest.raises(DataError) as caught:
        read_text(make(default_currency="EUR"), text)
    assert str(caught.value).splitlines() == [
        "inline.csv:2: 5 fields, the header has 4 (a ',' inside an unquoted value, or a "
        "truncated row?)",
        "inline.csv:3: no store (column 'store')",
        "inline.csv:4: 3 fields, the header has 4 (a ',' inside an unquoted value, or a "
        "truncated row?)",
        "inline.csv: rejected as a whole: a row that cannot be given to its ticket would "
        "leave that ticket incomplete",
    ]


def test_text_in_another_encoding_is_refused_with_the_fix() -> None:
    data = "store,ticket,sku,quantity,description\n1,5,A,1,Caf\u00e9\n".encode("cp1252")
    with pytest.raises(DataError, match=r"^x.csv:2: byte b'\\xe9' is not utf-8-sig text"):
        list(make(default_currency="EUR").parse_document("x.csv", io.BytesIO(data)))
    conn = make(default_currency="EUR", encoding="cp1252")
    (event,) = list(conn.parse_document("x.csv", io.BytesIO(data)))
    assert sale_of(conn, event).lines[0].description == "Caf\u00e9"


def test_quoted_values_may_hold_delimiters_and_newlines() -> None:
    conn = make(default_currency="EUR")
    text = 'store,ticket,sku,quantity,description\n1,5,A,1,"Mug, white\nlarge"\n1,5,B,1,x\n'
    (event,) = read_text(conn, text)
    assert [line["row"] for line in event.payload["lines"]] == [2, 4]
    assert sale_of(conn, event).lines[0].description == "Mug, white\nlarge"


def test_documents_larger_than_max_bytes_are_refused() -> None:
    with pytest.raises(DataError, match="larger than max_bytes=10"):
        read_text(make(max_bytes=10), "store,ticket,sku,quantity\n1,5,A,1\n")


# --------------------------------------------------------------------------- times


NAIVE = {"store": "store", "workstation": "till", "ticket": "ticket", "occurred_at": "time"}
NAIVE_COLUMNS = {**NAIVE, "sku": "sku", "quantity": "qty"}


def test_naive_times_get_the_configured_zone_and_give_the_business_day() -> None:
    conn = make(
        columns=NAIVE_COLUMNS,
        date_format="%d/%m/%Y %H:%M",
        timezone="Europe/Paris",
        default_currency="EUR",
    )
    items = parse(conn, "naive-times.csv")
    # The till numbers tickets from 1 each day: without a business_day column the day comes
    # from the ticket's time, so ticket 1 of two days are two tickets.
    assert [e.key for e in events(items)] == [
        "1001/1/2026-11-23/1",
        "1001/1/2026-11-24/1",
        "1001/1/2026-07-01/2",
    ]
    late, morning, summer = (sale_of(conn, e) for e in events(items))
    paris = ZoneInfo("Europe/Paris")
    assert late.occurred_at == datetime(2026, 11, 23, 23, 50, tzinfo=paris)
    assert late.occurred_at.utcoffset() == timedelta(hours=1)
    assert [li.sku for li in late.lines] == ["A", "C"]
    assert morning.occurred_at.isoformat() == "2026-11-24T09:05:00+01:00"
    assert summer.occurred_at.utcoffset() == timedelta(hours=2)  # summer time
    assert events(items)[0].payload["occurred_at"] == "2026-11-23T23:50:00+01:00"


def test_naive_times_stay_naive_without_a_zone_and_offsets_are_kept() -> None:
    text = "store,ticket,sku,quantity,occurred_at\n1,5,A,1,2026-11-23T10:15:00\n"
    text += "1,6,A,1,2026-11-23T10:15:00+00:00\n"
    naive = make(default_currency="EUR")
    first, second = (sale_of(naive, e) for e in read_text(naive, text))
    assert first.occurred_at == datetime(2026, 11, 23, 10, 15) and first.occurred_at.tzinfo is None
    assert second.occurred_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    zoned = make(default_currency="EUR", timezone="America/New_York")
    first, second = (sale_of(zoned, e) for e in read_text(zoned, text))
    assert first.occurred_at.utcoffset() == timedelta(hours=-5)
    assert second.occurred_at.utcoffset() == timedelta(0), "an explicit offset wins"


def test_business_day_format_and_unreadable_times() -> None:
    conn = make(default_currency="EUR", business_day_format="%d.%m.%Y")
    (event,) = read_text(conn, "store,ticket,sku,quantity,business_day\n1,5,A,1,23.11.2026\n")
    assert event.key == "1/-/2026-11-23/5"
    (rejection,) = read_text(
        make(default_currency="EUR"),
        "store,ticket,sku,quantity,business_day,occurred_at\n1,5,A,1,2026-11-23,noon\n",
    )
    assert "occurred_at (occurred_at): 'noon' is not an ISO 8601 date and time" in rejection.error


# --------------------------------------------------------------------------- idempotency


def test_the_same_file_read_twice_gives_the_same_keys_and_payloads() -> None:
    conn = make(columns=COLUMNS)
    first, again = parse(conn, "tickets.csv"), parse(conn, "tickets.csv")
    assert [e.key for e in events(first)] == [e.key for e in events(again)]
    assert [e.payload for e in events(first)] == [e.payload for e in events(again)]
    other = make(columns=COLUMNS)  # another poller, another process
    assert [e.key for e in events(parse(other, "tickets.csv"))] == [e.key for e in events(first)]


# --------------------------------------------------------------------------- decode


def test_decode_reads_what_mapping_functions_produce_and_refuses_floats() -> None:
    conn = make(columns=COLUMNS)
    event = events(parse(conn, "tickets.csv"))[0]
    payload = {**event.payload, "lines": [dict(line) for line in event.payload["lines"]]}
    payload["lines"][0].update(quantity=Decimal("3"), voided=False, line=1)
    payload["business_day"] = date(2026, 11, 24)
    sale = sale_of(conn, InboundEvent(event.key, "sale", payload))
    assert sale.lines[0].quantity == Decimal(3) and sale.lines[0].line_no == "1"
    assert sale.key.business_day == date(2026, 11, 24)
    payload["lines"][0]["quantity"] = 3.0
    with pytest.raises(DataError, match=r"3\.0 refused: give exact numbers"):
        conn.decode(InboundEvent(event.key, "sale", payload))
    payload["lines"][0]["quantity"] = "1,5"
    with pytest.raises(DataError, match="'1,5' is not a number with a decimal point"):
        conn.decode(InboundEvent(event.key, "sale", payload))
    payload["lines"][0].update(quantity="1", sku=123)
    with pytest.raises(DataError, match="must be text"):
        conn.decode(InboundEvent(event.key, "sale", payload))


def test_decode_refuses_other_kinds_and_broken_payloads() -> None:
    conn = make(default_currency="EUR")
    with pytest.raises(DataError):
        conn.decode(InboundEvent(key="k", kind="stock", payload={}))
    with pytest.raises(DataError, match="csv event k:"):
        conn.decode(InboundEvent(key="k", kind="sale", payload={"store": "1"}))
    with pytest.raises(DataError, match="'lines' is not a list"):
        conn.decode(
            InboundEvent(key="k", kind="sale", payload={"store": "1", "ticket": "2", "lines": 3})
        )


# --------------------------------------------------------------------------- config


def test_info_and_config_validation() -> None:
    info = CsvTicketsConnector.info
    assert (info.name, info.kind) == ("csv", "pos")
    assert info.capabilities == {Capability.READ_SALES, Capability.FILE_DROP}
    assert info.config_model is CsvConfig
    with pytest.raises(ValueError):
        CsvConfig(columns={"store": "S", "ticket": "T", "sku": "I"})  # no quantity
    with pytest.raises(ValueError):
        CsvConfig(columns={**COLUMNS, "colour": "Colour"})  # unknown canonical name
    with pytest.raises(ValueError):
        CsvConfig(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="unknown time zone"):
        CsvConfig(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown encoding"):
        CsvConfig(encoding="klingon")
    with pytest.raises(ValueError):
        CsvConfig(delimiter=";;")
    with pytest.raises(ValueError):
        CsvConfig(columns={**COLUMNS, "sku": "  "})
    assert CsvColumns(**COLUMNS).used()["sku"] == "Item"
