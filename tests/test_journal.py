"""The sales journal export: line grain, exact decimals, filters, time zones, CSV and Parquet.

Sales reach the journal through the sync use-cases (a fake till polled, a web order decoded
by the Shopify connector's own decoder and polled on a second connection), on SQLite and on
PostgreSQL. SQLite keeps a timestamp's wall time without its offset: the boundary tests use
tickets rung up at +01:00 to prove the export places them by their real instant.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.connector import ConnectorContext
from bridge.errors import ConfigError, DataError
from bridge.journal import export
from bridge.model import CustomerRef, Money, Sale, SaleLine, SaleStatus, TicketKey
from bridge.model.sale import Tender, TicketLink
from bridge.settings import ConnectionSettings
from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from connectors.shopify.payloads import decode_order
from tests.fakes import FakePos
from tests.test_sync import MAPPING, make_world

GOLDEN_HEADER = [
    "ticket_key",
    "connection",
    "channel",
    "location",
    "store",
    "workstation",
    "business_day",
    "occurred_at",
    "occurred_at_source",
    "status",
    "line_no",
    "sku",
    "barcode",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "discount",
    "currency",
    "is_return",
    "voided",
    "return_ticket",
    "return_line",
    "return_order_reference",
    "customer_id",
    "customer_loyalty_card",
    "customer_email",
    "tenders",
    "mapping_version",
    "content_hash",
]
PARIS_TZ = "Europe/Paris"
DAY = date(2026, 11, 23)
ORDER: dict[str, Any] = {
    "id": 820982911946154508,
    "name": "#1001",
    "email": "jon@example.com",
    "created_at": "2026-11-23T16:15:47-05:00",
    "currency": "EUR",
    "total_price": "0.30",
    "cancelled_at": None,
    "line_items": [
        {"id": 1, "sku": "TSHIRT-RED-M", "quantity": 1, "price": "0.10", "name": "T-shirt"},
        {"id": 2, "sku": "JEANS-BLUE-32", "quantity": 1, "price": "0.20", "name": "Jeans"},
    ],
    "customer": {"id": 115310627314723954, "email": "jon@example.com"},
}


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def line(no: int, sku: str, qty: str, price: str, amount: str, **kw: Any) -> SaleLine:
    return SaleLine(
        line_no=str(no),
        sku=sku,
        quantity=Decimal(qty),
        unit_price=eur(price),
        amount=eur(amount),
        is_return=Decimal(qty) < 0,
        **kw,
    )


def ticket(seq: int, at: str | None, *lines: SaleLine, store: str = "1001", **kw: Any) -> Sale:
    return Sale(
        key=TicketKey(store=store, workstation="01", business_day=DAY, sequence=str(seq)),
        status=kw.pop("status", SaleStatus.COMPLETED),
        occurred_at=datetime.fromisoformat(at) if at else None,
        currency="EUR",
        lines=lines,
        **kw,
    )


SALE = ticket(
    1,
    "2026-11-23T10:00:00+01:00",
    line(1, "3600000000017", "1", "0.10", "0.10"),
    line(2, "3600000000017", "1", "0.20", "0.20", barcode="3600000000017"),
    line(3, "LOOSE-TEA", "1.2345", "0.243", str(Decimal("0.10") + Decimal("0.20")), unit="kg"),
    line(4, "3600000000017", "1", "9.99", "9.99", voided=True),
    tenders=(
        Tender(kind="card", amount=eur("0.30")),
        Tender(kind="cash", amount=eur("0.30")),
        Tender(kind="card", amount=eur("0.00")),
    ),
    customer=CustomerRef(loyalty_card="LOY-42"),
)
RETURN = ticket(
    2,
    "2026-11-24T11:00:00+01:00",
    line(
        1,
        "3600000000017",
        "-1",
        "0.10",
        "-0.10",
        link=TicketLink(store="1001", workstation="01", business_day=DAY, sequence="1", line="1"),
    ),
    tenders=(Tender(kind="cash", amount=eur("0.10"), refund=True),),
)
CANCELLED = ticket(3, "2026-11-25T12:00:00+01:00", status=SaleStatus.CANCELLED)  # no lines at all
# Lyon, on both sides of the month's boundary in Paris time (UTC+1 in November/December).
LYON_LAST_NIGHT = ticket(
    4, "2026-12-01T00:30:00+01:00", line(1, "SCARF", "1", "5.00", "5.00"), store="1002"
)
LYON_FIRST_NIGHT = ticket(
    5, "2026-11-01T00:30:00+01:00", line(1, "SCARF", "1", "5.00", "5.00"), store="1002"
)
DECEMBER = ticket(6, "2026-12-15T10:00:00+01:00", line(1, "SCARF", "2", "5.00", "10.00"))


class Journal:
    def __init__(self, rt: Runtime, pos: FakePos, web: FakePos) -> None:
        self.rt, self.pos, self.web = rt, pos, web

    def ring(self, *sales: Sale) -> None:
        self.pos.pending = list(sales)
        ingest.poll(self.rt, "tills", "sales")

    def order(self, payload: dict[str, Any]) -> None:
        (body,) = decode_order(payload, "brique-test.myshopify.com")
        self.web.pending = [body.sale]
        ingest.poll(self.rt, "eshop", "sales")

    def rows(self, start: str, end: str, **kw: Any) -> list[dict[str, str]]:
        """The CSV export, parsed back."""
        query = export.make_query(start, end, **kw)
        text = "".join(export.csv_chunks(export.records(self.rt.sessions, query)))
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        assert header == GOLDEN_HEADER
        return [dict(zip(header, values, strict=True)) for values in reader]


def make_journal(tmp_path: Path, database_url: str) -> Iterator[Journal]:
    rt, pos, _shop, _ = make_world(tmp_path, database_url, MAPPING)
    # A second sales source for web orders: sales arrive by the same use-cases.
    rt.settings.connections["eshop"] = ConnectionSettings(connector="shopify")
    web = FakePos(context=ConnectorContext("eshop"))
    rt.use("eshop", web)
    try:
        yield Journal(rt, pos, web)
    finally:
        rt.close()


@pytest.fixture
def journal(tmp_path: Path, database_url: str) -> Iterator[Journal]:
    yield from make_journal(tmp_path, database_url)


@pytest.fixture
def filled(journal: Journal) -> Journal:
    journal.ring(SALE, RETURN, CANCELLED, LYON_LAST_NIGHT, LYON_FIRST_NIGHT, DECEMBER)
    journal.order(ORDER)
    return journal


def keys(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(r["ticket_key"], r["line_no"]) for r in rows]


def test_line_grain_exact_decimals_and_every_ticket_kept(filled: Journal) -> None:
    rows = filled.rows("2026-11-01", "2026-12-01")
    by_key = {(r["ticket_key"], r["line_no"]): r for r in rows}
    sale = [r for r in rows if r["ticket_key"] == "1001/01/2026-11-23/1"]
    assert [r["line_no"] for r in sale] == ["1", "2", "3", "4"]
    first, second, weighed, voided = sale
    assert first == {
        **first,
        "connection": "tills",
        "channel": "store",
        "location": "PARIS-01",
        "store": "1001",
        "workstation": "01",
        "business_day": "2026-11-23",
        "occurred_at": "2026-11-23T09:00:00Z",
        "occurred_at_source": "occurred_at",
        "status": "completed",
        "sku": "TSHIRT-RED-M",  # through the mapping's SKU crosswalk
        "barcode": "",
        "quantity": "1",
        "unit_price": "0.10",
        "amount": "0.10",
        "currency": "EUR",
        "is_return": "false",
        "voided": "false",
        "customer_loyalty_card": "LOY-42",
        "tenders": "card;cash",
    }
    assert first["mapping_version"] == filled.rt.mapping.plan.version
    assert len(first["content_hash"]) == 64
    assert second["barcode"] == "3600000000017"
    assert (weighed["quantity"], weighed["unit"], weighed["unit_price"], weighed["amount"]) == (
        "1.2345",
        "kg",
        "0.243",
        "0.30",
    )
    assert sum(Decimal(r["amount"]) for r in sale[:3]) == Decimal("0.60")
    assert voided["voided"] == "true"  # a voided line stays in the journal, flagged
    ret = by_key[("1001/01/2026-11-23/2", "1")]
    assert (ret["quantity"], ret["amount"], ret["is_return"]) == ("-1", "-0.10", "true")
    assert (ret["return_ticket"], ret["return_line"]) == ("1001/01/2026-11-23/1", "1")
    assert ret["tenders"] == "cash"
    cancelled = by_key[("1001/01/2026-11-23/3", "")]  # no lines: one row for the ticket
    assert (cancelled["status"], cancelled["sku"], cancelled["currency"]) == (
        "cancelled",
        "",
        "EUR",
    )
    web = [r for r in rows if r["channel"] == "web"]
    assert [(r["ticket_key"], r["sku"], r["amount"] or r["unit_price"]) for r in web] == [
        ("brique-test.myshopify.com/tx/820982911946154508", "TSHIRT-RED-M", "0.10"),
        ("brique-test.myshopify.com/tx/820982911946154508", "JEANS-BLUE-32", "0.20"),
    ]
    assert {(r["connection"], r["location"], r["customer_email"]) for r in web} == {
        ("eshop", "", "jon@example.com")
    }
    assert web[0]["occurred_at"] == "2026-11-23T21:15:47Z"
    # Journal order; December and the ticket rung up at 00:30 on 1 November in Lyon
    # (23:30 UTC the day before) are outside the UTC month.
    assert keys(rows) == [
        *[("1001/01/2026-11-23/1", n) for n in "1234"],
        ("1001/01/2026-11-23/2", "1"),
        ("1001/01/2026-11-23/3", ""),
        ("1002/01/2026-11-23/4", "1"),
        ("brique-test.myshopify.com/tx/820982911946154508", "1"),
        ("brique-test.myshopify.com/tx/820982911946154508", "2"),
    ]


def test_time_zone_boundaries(filled: Journal) -> None:
    last, first = ("1002/01/2026-11-23/4", "1"), ("1002/01/2026-11-23/5", "1")
    utc = keys(filled.rows("2026-11-01", "2026-12-01", store="LYON-02"))
    assert utc == [last]  # 2026-11-30T23:30Z is in November in UTC
    paris = keys(filled.rows("2026-11-01", "2026-12-01", store="LYON-02", tz=PARIS_TZ))
    assert paris == [first]  # ...and in December in Paris
    # Half-open: the end instant itself is out, the start instant in.
    assert keys(filled.rows("2026-11-30T23:30:00Z", "2026-12-01", store="LYON-02")) == [last]
    assert filled.rows("2026-11-01", "2026-11-30T23:30:00+00:00", store="LYON-02") == []
    assert keys(filled.rows("2026-10-31T23:30:00Z", "2026-10-31T23:30:01Z")) == [first]


def test_filters_by_store_channel_and_connection(filled: Journal) -> None:
    month = ("2026-11-01", "2026-12-01")
    paris = filled.rows(*month, store="PARIS-01")
    assert {r["location"] for r in paris} == {"PARIS-01"} and len(paris) == 6
    web = filled.rows(*month, channel="web")
    assert {r["channel"] for r in web} == {"web"} and len(web) == 2
    store = filled.rows(*month, channel="store")
    assert {r["channel"] for r in store} == {"store"} and len(store) == 7
    assert filled.rows(*month, connection="eshop") == web
    assert filled.rows(*month, store="PARIS-01", channel="web") == []
    december = filled.rows("2026-12-01", "2027-01-01", tz=PARIS_TZ)
    assert keys(december) == [("1002/01/2026-11-23/4", "1"), ("1001/01/2026-11-23/6", "1")]


def test_a_ticket_without_occurred_at_is_placed_when_it_was_recorded(journal: Journal) -> None:
    journal.ring(ticket(7, None, line(1, "SCARF", "1", "5.00", "5.00")))
    now = datetime.now(UTC)
    window = ((now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat())
    (row,) = journal.rows(*window)
    assert row["occurred_at_source"] == "recorded_at"
    recorded = datetime.fromisoformat(row["occurred_at"])
    assert abs(recorded - now) < timedelta(minutes=5)
    summary = export.Summary()
    list(export.records(journal.rt.sessions, export.make_query(*window), summary))
    assert (summary.tickets, summary.lines, summary.from_recorded_at) == (1, 1, 1)


def test_empty_range_gives_the_header_only(filled: Journal, tmp_path: Path) -> None:
    assert filled.rows("2030-01-01", "2030-02-01") == []
    assert filled.rows("2026-11-01", "2026-11-01") == []  # from == to: nothing
    out = tmp_path / "empty.csv"
    summary = export.export_to_path(
        filled.rt.sessions, export.make_query("2030-01-01", "2030-02-01"), out
    )
    assert out.read_bytes() == (",".join(GOLDEN_HEADER) + "\r\n").encode()
    assert (summary.tickets, summary.lines) == (0, 0)


def test_pages_stream_the_journal_in_order(journal: Journal) -> None:
    journal.ring(
        *[
            ticket(i, "2026-11-23T10:00:00+01:00", line(1, "SCARF", "1", "5", "5"))
            for i in range(1, 8)
        ]
    )
    query = export.make_query("2026-11-01", "2026-12-01")
    rows = list(export.records(journal.rt.sessions, query, page_size=2))
    assert [r["ticket_key"] for r in rows] == [f"1001/01/2026-11-23/{i}" for i in range(1, 8)]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-01", "is not a date"),
        ("yesterday", "2026-12-01", "is not a date"),
        ("2026-12-01", "2026-11-01", "before it starts"),
    ],
)
def test_bad_ranges_are_refused_with_a_message(start: str, end: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        export.make_query(start, end)


def test_bad_zone_or_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        export.make_query("2026-11-01", "2026-12-01", tz="Mars/Olympus")
    with pytest.raises(ValueError, match="channel must be one of store, web"):
        export.make_query("2026-11-01", "2026-12-01", channel="phone")


# -- Parquet --------------------------------------------------------------------------------


def test_parquet_keeps_decimals_exact_in_decimal128(filled: Journal, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "journal.parquet"
    query = export.make_query("2026-11-01", "2026-12-01")
    summary = export.export_to_path(filled.rt.sessions, query, out, "parquet", row_group_size=4)
    assert (summary.tickets, summary.lines) == (5, 9)
    meta = pq.ParquetFile(out)
    assert meta.metadata.num_row_groups == 3  # written 4 rows at a time
    schema = meta.schema_arrow
    assert schema.names == GOLDEN_HEADER
    for name in ("quantity", "unit_price", "amount", "discount"):
        assert schema.field(name).type == pa.decimal128(38, 4), name
    assert schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("business_day").type == pa.date32()
    assert schema.field("is_return").type == pa.bool_()
    table = meta.read().to_pylist()
    csv_rows = filled.rows("2026-11-01", "2026-12-01")
    assert len(table) == len(csv_rows)
    for row, text in zip(table, csv_rows, strict=True):
        for name in ("quantity", "unit_price", "amount", "discount"):
            expected = Decimal(text[name]) if text[name] else None
            assert row[name] == expected, (name, row[name], expected)
            assert row[name] is None or isinstance(row[name], Decimal)
        assert row["occurred_at"] == datetime.fromisoformat(text["occurred_at"])
        assert row["ticket_key"] == text["ticket_key"]
    weighed = next(r for r in table if r["sku"] == "LOOSE-TEA")
    assert str(weighed["amount"]) == "0.3000" and str(weighed["quantity"]) == "1.2345"


def test_parquet_refuses_to_round_a_fifth_decimal(journal: Journal, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    journal.ring(ticket(1, "2026-11-23T10:00:00+01:00", line(1, "GOLD", "1", "0.00001", "0")))
    out = tmp_path / "journal.parquet"
    query = export.make_query("2026-11-01", "2026-12-01")
    with pytest.raises(DataError, match=r"unit_price 0\.00001 has more than 4 decimals.*CSV"):
        export.export_to_path(journal.rt.sessions, query, out, "parquet")
    assert not out.exists() and list(tmp_path.glob("*.partial")) == []
    assert journal.rows("2026-11-01", "2026-12-01")[0]["unit_price"] == "0.00001"


def test_without_pyarrow_parquet_says_how_to_install_it(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    query = export.make_query("2026-11-01", "2026-12-01")
    with pytest.raises(ConfigError, match=r"needs pyarrow.*pip install 'brique\[parquet\]'"):
        export.export_to_path(journal.rt.sessions, query, tmp_path / "j.parquet", "parquet")
