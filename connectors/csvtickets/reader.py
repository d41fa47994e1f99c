"""One CSV export into native tickets: header resolved, rows grouped, values normalised.

A till's export has one row per ticket line, the ticket's own columns repeated on each row.
Rows are grouped by (store, workstation, business day, ticket); a ticket's rows need not be
contiguous but must all be in the same file.

What is rejected, and why at that level:

* the **file**, when its structure cannot be trusted: not text in the configured encoding,
  broken quoting, no header, a configured column missing, a row with more or fewer fields
  than the header (a delimiter inside an unquoted value shifts every column after it), or a
  row whose store, ticket or business day cannot be read. Such a row cannot be given to its
  ticket, and letting that ticket in without it would be final: once a ticket's key is in
  the inbox, the corrected file would be skipped as a duplicate. Every such problem of the
  file is listed at once.
* a **ticket**, when one of its rows has a bad value (no SKU, a quantity that is not a
  number, two different tenders on rows of one ticket...): a ``Rejection`` naming
  ``file:line`` for each problem. The file's other tickets go through; once the file is
  corrected and dropped again, only the rejected tickets are new to the inbox.

Values are normalised in the payload: decimals as exact text with a point (``12,50`` with
``decimal_comma`` becomes ``"12.50"``), dates in ISO 8601 (naive times get the configured
time zone), identifiers as the exact text of the cell, leading zeros included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bridge.connector import InboundEvent, Rejection
from bridge.errors import DataError
from connectors.csvtickets.config import CANONICAL, REQUIRED, CsvColumns, CsvConfig
from connectors.csvtickets.decode import to_sale
from connectors.csvtickets.values import (
    parse_datetime,
    parse_day,
    parse_decimal,
    parse_flag,
    plain,
)

TICKET_LEVEL = ("currency", "status", "tender", "tender_amount", "customer")
"""Ticket columns repeated on each row: every row of a ticket must carry the same value (or
none). ``occurred_at`` is not among them: the first time given is the ticket's time."""
NUMBERS = ("quantity", "unit_price", "amount", "tender_amount")
MAX_PROBLEMS = 20
"""File-level problems listed in one rejection; the count of the others follows."""
PAYLOAD_LIMIT = 200_000


@dataclass
class _Row:
    line: int
    fields: list[str]
    cells: dict[str, str | None]


@dataclass
class _Group:
    identity: tuple[str, str | None, str | None, str]
    rows: list[_Row] = field(default_factory=list)


@dataclass(frozen=True)
class _Layout:
    """Where each canonical column is in this file's header."""

    header: list[str]
    index: dict[str, int]
    extra: list[tuple[int, str]]

    def name(self, canonical: str) -> str:
        return self.header[self.index[canonical]]


def read_document(
    data: bytes, source: str, config: CsvConfig, zone: tzinfo | None
) -> list[InboundEvent | Rejection]:
    """Events (one per ticket) and rejections (bad tickets), in the order tickets start in the
    file. ``DataError`` when the file as a whole cannot be trusted."""
    rows = _rows(_text(data, source, config.encoding), source, config.delimiter)
    if not rows:
        raise DataError(f"{source}: empty file: no header row")
    header_line, header = rows[0]
    layout = _layout([h.strip() for h in header], header_line, source, config.columns)
    groups: dict[tuple[Any, ...], _Group] = {}
    problems: list[str] = []
    for line, fields in rows[1:]:
        if len(fields) != len(layout.header):
            problems.append(
                f"{source}:{line}: {len(fields)} fields, the header has {len(layout.header)} "
                f"(a '{config.delimiter}' inside an unquoted value, or a truncated row?)"
            )
            continue
        cells = {name: (fields[i].strip() or None) for name, i in layout.index.items()}
        try:
            identity = _identity(cells, layout, config, zone)
        except ValueError as exc:
            problems.append(f"{source}:{line}: {exc}")
            continue
        group = groups.setdefault(identity, _Group(identity))
        group.rows.append(_Row(line, fields, cells))
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more")
        raise DataError(
            "\n".join(shown)
            + f"\n{source}: rejected as a whole: a row that cannot be given to its ticket "
            "would leave that ticket incomplete"
        )
    return [_ticket(g, layout, source, config, zone) for g in groups.values()]


# -- file structure ---------------------------------------------------------------------------


def _text(data: bytes, source: str, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1]
        raise DataError(
            f"{source}:{line}: byte {bad!r} is not {encoding} text: set encoding to the "
            "till's (e.g. cp1252 or latin-1)"
        ) from None


def _rows(text: str, source: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted value may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    start = 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{source}:{start}: {exc}") from None
    return rows


def _find(header: list[str], name: str) -> list[int]:
    exact = [i for i, h in enumerate(header) if h == name]
    if exact:
        return exact
    folded = name.casefold()
    return [i for i, h in enumerate(header) if h.casefold() == folded]


def _layout(header: list[str], line: int, source: str, columns: CsvColumns | None) -> _Layout:
    if columns is None:
        wanted = {name: name for name in CANONICAL}
        required = set(REQUIRED)
    else:
        wanted = columns.used()
        required = set(wanted)
    index: dict[str, int] = {}
    missing, twice = [], []
    for canonical, name in wanted.items():
        found = _find(header, name)
        if len(found) > 1:
            twice.append(f"{name!r} ({canonical}) is in the header {len(found)} times")
        elif found:
            index[canonical] = found[0]
        elif canonical in required:
            missing.append(f"{name!r} ({canonical})")
    if missing or twice:
        problems = []
        if missing:
            problems.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        problems.extend(twice)
        hint = ""
        if len(header) == 1:
            others = [d for d in (";", ",", "\t", "|") if d in header[0]]
            if others:
                hint = f" (one column only: is the delimiter {others[0]!r}?)"
        raise DataError(f"{source}:{line}: {'; '.join(problems)}; header found: {header}{hint}")
    used = set(index.values())
    extra = [(i, h) for i, h in enumerate(header) if i not in used]
    return _Layout(header, index, extra)


def _identity(
    cells: Mapping[str, str | None], layout: _Layout, config: CsvConfig, zone: tzinfo | None
) -> tuple[str, str | None, str | None, str]:
    """(store, workstation, business day, ticket) of a row; ``ValueError`` if unreadable."""
    store, ticket = cells.get("store"), cells.get("ticket")
    if store is None or ticket is None:
        name = "store" if store is None else "ticket"
        raise ValueError(f"no {name} (column {layout.name(name)!r})")
    day = None
    if "business_day" in layout.index:
        value = cells.get("business_day")
        if value is not None:
            try:
                day = parse_day(value, config.business_day_format).isoformat()
            except ValueError as exc:
                raise ValueError(f"business_day ({layout.name('business_day')}): {exc}") from None
    elif "occurred_at" in layout.index and cells.get("occurred_at") is not None:
        # No business day column: the date of the ticket's time (till local), so a ticket
        # number the till starts again each day still names one ticket.
        try:
            moment = parse_datetime(cells["occurred_at"] or "", config.date_format, zone)
        except ValueError as exc:
            name = layout.name("occurred_at")
            raise ValueError(f"occurred_at ({name}), which gives the business day: {exc}") from None
        day = moment.date().isoformat()
    return (store, cells.get("workstation"), day, ticket)


# -- tickets ----------------------------------------------------------------------------------


def _ticket(
    group: _Group, layout: _Layout, source: str, config: CsvConfig, zone: tzinfo | None
) -> InboundEvent | Rejection:
    store, workstation, day, number = group.identity
    errors: list[tuple[int, str]] = []
    ticket: dict[str, Any] = {
        "source": source,
        "row": group.rows[0].line,
        "store": store,
        "workstation": workstation,
        "business_day": day,
        "ticket": number,
        "occurred_at": None,
        **{name: None for name in TICKET_LEVEL},
    }
    seen: dict[str, int] = {}
    numbers: set[str] = set()
    lines = []
    for position, row in enumerate(group.rows, start=1):
        values, problems = _values(row, layout, config, zone)
        errors.extend((row.line, p) for p in problems)
        for name in TICKET_LEVEL:
            value = values.get(name)
            if value is None:
                continue
            if ticket[name] is None:
                ticket[name] = value
                seen[name] = row.line
            elif not _same(name, ticket[name], value):
                errors.append(
                    (
                        row.line,
                        f"{name} ({layout.name(name)}) is {value!r} here but "
                        f"{ticket[name]!r} on line {seen[name]} of the same ticket",
                    )
                )
        if ticket["occurred_at"] is None:
            ticket["occurred_at"] = values.get("occurred_at")
        line_no = values.get("line") if "line" in layout.index else str(position)
        if line_no is None:
            errors.append((row.line, f"no line number ({layout.name('line')})"))
        elif line_no in numbers:
            errors.append((row.line, f"line number {line_no!r} is used twice in the ticket"))
        else:
            numbers.add(line_no)
        lines.append(
            {
                "row": row.line,
                "line": line_no,
                "sku": values.get("sku"),
                "quantity": values.get("quantity"),
                "unit_price": values.get("unit_price"),
                "amount": values.get("amount"),
                "description": values.get("description"),
                "barcode": values.get("barcode"),
                "voided": values.get("voided", False),
                "return_of": values.get("return_of"),
                "extra": {name: row.fields[i].strip() for i, name in layout.extra},
            }
        )
    ticket["lines"] = lines
    label = _label(group.identity, config)
    if errors:
        message = "; ".join(f"{source}:{line}: {text}" for line, text in errors)
        return Rejection(
            source=f"{source}:{errors[0][0]}",
            error=f"ticket {label}: {message}",
            payload=_raw(layout.header, group.rows, config.delimiter),
        )
    try:
        sale = to_sale(ticket, config, zone)
    except ValidationError as exc:
        return _rejected(group, source, label, validation_message(exc), layout, config)
    except ValueError as exc:
        return _rejected(group, source, label, str(exc), layout, config)
    return InboundEvent(
        key=sale.key.as_string(), kind="sale", payload=ticket, occurred_at=sale.occurred_at
    )


def _values(
    row: _Row, layout: _Layout, config: CsvConfig, zone: tzinfo | None
) -> tuple[dict[str, Any], list[str]]:
    """The row's normalised values by canonical name, and what is wrong with them."""
    cells = row.cells
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in ("sku", "quantity"):
        if cells.get(name) is None:
            problems.append(f"no {name} ({layout.name(name)})")
    for name, text in cells.items():
        if text is None or name in ("store", "ticket", "workstation", "business_day"):
            continue
        try:
            if name in NUMBERS:
                values[name] = plain(parse_decimal(text, decimal_comma=config.decimal_comma))
            elif name == "occurred_at":
                values[name] = parse_datetime(text, config.date_format, zone).isoformat()
            elif name == "voided":
                values[name] = parse_flag(text)
            elif name == "currency":
                values[name] = text.upper()
            else:
                values[name] = text
        except ValueError as exc:
            problems.append(f"{name} ({layout.name(name)}): {exc}")
    return values, problems


def _same(name: str, first: Any, other: Any) -> bool:
    """Whether two rows agree on a ticket column (``12.5`` and ``12.50`` are one amount)."""
    if name in NUMBERS:
        return Decimal(first) == Decimal(other)
    return bool(first == other)


def _label(identity: tuple[str, str | None, str | None, str], config: CsvConfig) -> str:
    store, workstation, day, number = identity
    if config.ticket_kind == "id":
        return f"{store}/tx/{number}"
    return f"{store}/{workstation or '-'}/{day or '-'}/{number}"


def _rejected(
    group: _Group, source: str, label: str, message: str, layout: _Layout, config: CsvConfig
) -> Rejection:
    line = group.rows[0].line
    return Rejection(
        source=f"{source}:{line}",
        error=f"ticket {label}: {source}:{line}: {message}",
        payload=_raw(layout.header, group.rows, config.delimiter),
    )


def _raw(header: list[str], rows: list[_Row], delimiter: str) -> str:
    """The ticket's rows as CSV under the header: what a dead letter keeps of it."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(row.fields for row in rows)
    return out.getvalue()[:PAYLOAD_LIMIT]


def validation_message(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )
