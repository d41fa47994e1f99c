"""Export the sales journal for a data mart: one flat record per sale line, CSV or Parquet.

What is read: the ``sales`` table (the append-only journal, every channel), filtered by a
half-open time range ``[start, end)`` of timezone-aware instants, and optionally by Brique
location code, channel and connection. Cancelled, voided and training tickets are kept with
their status: it is a journal, the data mart filters.

When a ticket happened: the canonical ``occurred_at`` of its payload (which keeps the
source's UTC offset; a timestamp without offset is taken as UTC). A ticket without one is
placed at ``recorded_at``, the moment Brique journaled it, and says so in the column
``occurred_at_source`` (``recorded_at`` instead of ``occurred_at``).

Memory stays flat whatever the journal's size: rows are read in pages by primary key
(keyset), each page in its own short read, and written out as they come (CSV line by
line, Parquet one row group at a time). A short read per page matters: on SQLite every
transaction takes the write lock (``BEGIN IMMEDIATE``), so one long cursor held open while
a slow HTTP client downloads would stall the workers.

Money and quantities stay exact: CSV carries the Decimal's own text (``0.30`` stays
``0.30``), Parquet a ``decimal128(38, 4)``; a value with more than four decimals is
refused for Parquet rather than rounded.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.errors import ConfigError, DataError
from bridge.store.tables import InboxRow, SaleRow

PARQUET_INSTALL = "pip install 'brique[parquet]'  (or: pip install pyarrow)"
CHANNELS = ("store", "web")
FORMATS = ("csv", "parquet")
SCALE = 4
"""Decimal places of every Parquet decimal column (quantities are kept to 1/10,000)."""
PRECISION = 38
PAGE_SIZE = 500
ROW_GROUP_SIZE = 10_000
_MARGIN = timedelta(days=1)
"""SQLite keeps a timestamp's wall time without its offset: the SQL filter is widened by
more than any UTC offset (at most 14 h), then the exact filter runs on the payload."""

COLUMNS: tuple[str, ...] = (
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
)
"""The export's columns, in order: the CSV header and the Parquet schema. Append only."""

DECIMAL_COLUMNS = frozenset({"quantity", "unit_price", "amount", "discount"})
BOOL_COLUMNS = frozenset({"is_return", "voided"})


# -- the query ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalQuery:
    """What to export: ``[start, end)`` (aware datetimes) and optional filters."""

    start: datetime
    end: datetime
    store: str | None = None
    """A Brique location code (``PARIS-01``); web orders have none, so it excludes them."""
    channel: str | None = None
    connection: str | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            moment = getattr(self, name)
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")
        if self.end < self.start:
            raise ValueError(
                f"the range ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()})"
            )
        if self.channel is not None and self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {self.channel!r}")


def zone(name: str | None) -> tzinfo:
    """An IANA time zone (``Europe/Paris``) or UTC; ValueError names a wrong one."""
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name: Europe/Paris)") from exc


def parse_bound(text: str, tz: tzinfo = UTC) -> datetime:
    """``2026-11-01`` (midnight in ``tz``) or an ISO 8601 date-time; one without offset is
    read in ``tz``. ValueError says what is expected."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (2026-11-01) nor an ISO 8601 date-time "
            "(2026-11-01T00:00:00+01:00)"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def make_query(
    start: str,
    end: str,
    *,
    store: str | None = None,
    channel: str | None = None,
    connection: str | None = None,
    tz: str | None = None,
) -> JournalQuery:
    """The query from text, as the CLI and the HTTP route receive it; ValueError if wrong."""
    where = zone(tz)
    return JournalQuery(
        start=parse_bound(start, where),
        end=parse_bound(end, where),
        store=store or None,
        channel=channel or None,
        connection=connection or None,
    )


# -- reading --------------------------------------------------------------------------------


@dataclass
class Summary:
    """Counted while the records stream out."""

    tickets: int = 0
    lines: int = 0
    from_recorded_at: int = 0
    """Tickets without occurred_at, placed at the time Brique recorded them."""


def records(
    sessions: sessionmaker[Session],
    query: JournalQuery,
    summary: Summary | None = None,
    *,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """The journal's line records in journal order (the order Brique recorded tickets)."""
    summary = summary if summary is not None else Summary()
    start, end = query.start.astimezone(UTC), query.end.astimezone(UTC)
    if start >= end:
        return
    when = func.coalesce(SaleRow.occurred_at, SaleRow.recorded_at)
    base = (
        select(
            SaleRow.id,
            SaleRow.connection,
            SaleRow.ticket_key,
            SaleRow.channel,
            SaleRow.location,
            SaleRow.store,
            SaleRow.workstation,
            SaleRow.business_day,
            SaleRow.status,
            SaleRow.recorded_at,
            SaleRow.payload,
            SaleRow.content_hash,
            InboxRow.mapping_version,
        )
        .select_from(SaleRow)
        .outerjoin(InboxRow, InboxRow.id == SaleRow.inbox_id)
        .where(when >= start - _MARGIN, when < end + _MARGIN)
        .order_by(SaleRow.id)
        .limit(page_size)
    )
    if query.store is not None:
        base = base.where(SaleRow.location == query.store)
    if query.channel is not None:
        base = base.where(SaleRow.channel == query.channel)
    if query.connection is not None:
        base = base.where(SaleRow.connection == query.connection)
    last = 0
    while True:
        with sessions() as s:
            page = s.execute(base.where(SaleRow.id > last)).all()
        for row in page:
            sale = json.loads(row.payload, parse_float=Decimal)
            moment, source = _instant(sale.get("occurred_at"), row.recorded_at)
            if not start <= moment < end:
                continue
            summary.tickets += 1
            if source == "recorded_at":
                summary.from_recorded_at += 1
            for record in _lines(row, sale, moment, source):
                summary.lines += 1
                yield record
        if len(page) < page_size:
            return
        last = page[-1].id


def _instant(occurred: Any, recorded: datetime) -> tuple[datetime, str]:
    if occurred:
        moment = datetime.fromisoformat(str(occurred))
        source = "occurred_at"
    else:
        moment, source = recorded, "recorded_at"
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)  # SQLite hands back UTC wall time
    return moment.astimezone(UTC), source


def _lines(row: Any, sale: Mapping[str, Any], moment: datetime, source: str) -> Iterator[dict]:
    customer = sale.get("customer") or {}
    kinds: list[str] = []
    for tender in sale.get("tenders") or ():
        kind = str(tender.get("kind") or "")
        if kind and kind not in kinds:
            kinds.append(kind)
    ticket = {
        "ticket_key": row.ticket_key,
        "connection": row.connection,
        "channel": row.channel,
        "location": row.location,
        "store": row.store,
        "workstation": row.workstation,
        "business_day": row.business_day,
        "occurred_at": moment,
        "occurred_at_source": source,
        "status": row.status,
        "customer_id": customer.get("customer_id"),
        "customer_loyalty_card": customer.get("loyalty_card"),
        "customer_email": customer.get("email"),
        "tenders": ";".join(kinds) or None,
        "mapping_version": row.mapping_version,
        "content_hash": row.content_hash,
    }
    currency = sale.get("currency")
    lines = sale.get("lines") or ()
    if not lines:
        # A ticket without lines (a cancelled one, often) still belongs in the journal.
        yield _record(ticket, {"currency": currency})
        return
    for line in lines:
        link = line.get("link") or sale.get("link") or {}
        yield _record(
            ticket,
            {
                "line_no": line.get("line_no"),
                "sku": line.get("sku"),
                "barcode": line.get("barcode"),
                "description": line.get("description") or None,
                "quantity": _decimal(line.get("quantity")),
                "unit": line.get("unit"),
                "unit_price": _money(line.get("unit_price")),
                "amount": _money(line.get("amount")),
                "discount": _money(line.get("discount")),
                "currency": _currency(line) or currency,
                "is_return": bool(line.get("is_return")),
                "voided": bool(line.get("voided")),
                "return_ticket": _ticket_ref(link),
                "return_line": link.get("line"),
                "return_order_reference": link.get("order_reference"),
            },
        )


def _record(ticket: Mapping[str, Any], line: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**ticket, **line}
    return {name: merged.get(name) for name in COLUMNS}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise DataError(f"{value!r} in the journal is not a decimal number") from None


def _money(value: Any) -> Decimal | None:
    return _decimal(value.get("amount")) if isinstance(value, Mapping) else None


def _currency(line: Mapping[str, Any]) -> str | None:
    for name in ("amount", "unit_price", "discount"):
        money = line.get(name)
        if isinstance(money, Mapping) and money.get("currency"):
            return str(money["currency"])
    return None


def _ticket_ref(link: Mapping[str, Any]) -> str | None:
    """The original ticket as Brique keys it (``TicketKey.as_string``), when the link says."""
    store, tx, seq = link.get("store"), link.get("transaction_id"), link.get("sequence")
    if store and tx:
        return f"{store}/tx/{tx}"
    if store and seq:
        return f"{store}/{link.get('workstation') or '-'}/{link.get('business_day') or '-'}/{seq}"
    return tx or None


# -- CSV ------------------------------------------------------------------------------------


def csv_text(value: Any) -> str:
    """One cell: Decimals as their exact text, instants in UTC with ``Z``, booleans
    ``true``/``false``, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_chunks(rows: Iterable[Mapping[str, Any]], batch: int = 200) -> Iterator[str]:
    """The CSV text (RFC 4180, CRLF) in chunks of ``batch`` lines, header first: what a
    streaming HTTP response sends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    pending = 1
    for record in rows:
        writer.writerow([csv_text(record[name]) for name in COLUMNS])
        pending += 1
        if pending >= batch:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if buffer.tell():
        yield buffer.getvalue()


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> None:
    for chunk in csv_chunks(rows):
        out.write(chunk)


# -- Parquet --------------------------------------------------------------------------------


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(f"Parquet export needs pyarrow, which is not installed: "
                          f"{PARQUET_INSTALL}") from None  # fmt: skip
    return pa, pq


def parquet_schema() -> Any:
    """``decimal128(38, 4)`` for money and quantities, a UTC timestamp, a date, booleans,
    strings for everything else (identifiers keep their leading zeros)."""
    pa, _ = _pyarrow()
    types: dict[str, Any] = {
        "business_day": pa.date32(),
        "occurred_at": pa.timestamp("us", tz="UTC"),
    }
    types.update(dict.fromkeys(DECIMAL_COLUMNS, pa.decimal128(PRECISION, SCALE)))
    types.update(dict.fromkeys(BOOL_COLUMNS, pa.bool_()))
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in COLUMNS])


_QUANTUM = Decimal(1).scaleb(-SCALE)


def _scaled(value: Decimal | None, record: Mapping[str, Any], name: str) -> Decimal | None:
    if value is None:
        return None
    exact = value.quantize(_QUANTUM)
    if exact != value:
        raise DataError(
            f"{name} {value} has more than {SCALE} decimals and Parquet keeps {SCALE}; "
            "export as CSV, which keeps every digit",
            record=f"{record['connection']}/{record['ticket_key']} line {record['line_no']}",
        )
    return exact


def write_parquet(
    rows: Iterable[Mapping[str, Any]],
    where: str | Path | IO[bytes],
    *,
    row_group_size: int = ROW_GROUP_SIZE,
) -> None:
    """Write the records as Parquet, one row group per ``row_group_size`` records."""
    pa, pq = _pyarrow()
    schema = parquet_schema()
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    convert: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
        name: (lambda v, r, n=name: _scaled(v, r, n)) for name in DECIMAL_COLUMNS
    }
    with pq.ParquetWriter(where, schema, compression="zstd") as writer:

        def flush() -> None:
            writer.write_table(pa.table(columns, schema=schema), row_group_size=row_group_size)
            for values in columns.values():
                values.clear()

        count = 0
        for record in rows:
            for name in COLUMNS:
                value = record[name]
                columns[name].append(convert[name](value, record) if name in convert else value)
            count += 1
            if count == row_group_size:
                flush()
                count = 0
        if count:
            flush()


# -- to a file ------------------------------------------------------------------------------


def export_to_path(
    sessions: sessionmaker[Session],
    query: JournalQuery,
    path: Path,
    fmt: str = "csv",
    *,
    row_group_size: int = ROW_GROUP_SIZE,
) -> Summary:
    """Export to ``path``, written under a temporary name and renamed when complete, so a
    failed export never leaves a truncated file a loader could take for a whole one."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "parquet":
        _pyarrow()  # fail before reading anything
    summary = Summary()
    rows = records(sessions, query, summary)
    partial = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "csv":
            with partial.open("w", newline="", encoding="utf-8") as fh:
                write_csv(rows, fh)
        else:
            write_parquet(rows, partial, row_group_size=row_group_size)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return summary
