"""Import a price list (CSV ``sku,price[,list][,currency]``) into the price referential.

Every row is checked before anything is stored, and a bad row names its file and line.
Re-importing the same file changes nothing; a changed price is pushed to every shop
channel, and only where the channel's mapped fields really change.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bridge.errors import DataError
from bridge.model import Price, PriceEntry
from bridge.sync.push_prices import record_prices
from bridge.sync.runtime import Runtime


@dataclass(frozen=True)
class PriceFileRow:
    """One row as read: its line, its cells, and its entry or why it has none."""

    line: int
    cells: dict[str, str]
    entry: PriceEntry | None = None
    error: str | None = None


def price_rows(path: Path, currency: str | None, tax_included: bool) -> Iterator[PriceFileRow]:
    """Every row of a price list, each with its entry or its error (``file:line: ...``).

    A file that cannot be read as a price list at all (no ``sku`` or ``price`` column)
    raises ``DataError``.
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"sku", "price"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
        seen: dict[tuple[str, str], int] = {}
        for rec in reader:
            line = reader.line_num
            cells = {k: v for k, v in rec.items() if k is not None}
            try:
                entry = _entry(cells, currency, tax_included, seen, line)
            except ValueError as exc:
                yield PriceFileRow(line, cells, error=f"{path}:{line}: {exc}")
            else:
                yield PriceFileRow(line, cells, entry)


def _entry(
    cells: dict[str, str],
    currency: str | None,
    tax_included: bool,
    seen: dict[tuple[str, str], int],
    line: int,
) -> PriceEntry:
    sku = (cells.get("sku") or "").strip()
    price_list = (cells.get("list") or "").strip() or "default"
    text = (cells.get("price") or "").strip()
    row_currency = (cells.get("currency") or "").strip() or currency
    if not sku:
        raise ValueError("empty sku")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"price {text!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"price {text!r} is not a valid price")
    if row_currency is None:
        raise ValueError("no currency: add a currency column or set prices.currency in the mapping")
    if (sku, price_list) in seen:
        first = seen[(sku, price_list)]
        raise ValueError(f"{sku!r} appears twice in list {price_list!r} (first on line {first})")
    seen[(sku, price_list)] = line
    return PriceEntry(
        sku=sku,
        price_list=price_list,
        price=Price(amount=amount, currency=row_currency, tax_included=tax_included),
    )


def read_price_file(path: Path, currency: str | None, tax_included: bool) -> list[PriceEntry]:
    """All entries of a price list; the first bad row raises ``DataError`` naming its line."""
    entries = []
    for row in price_rows(path, currency, tax_included):
        if row.entry is None:
            raise DataError(row.error or f"{path}:{row.line}: unreadable row")
        entries.append(row.entry)
    return entries


def import_prices(rt: Runtime, path: Path) -> tuple[int, list[str]]:
    """Returns (rows read, shops whose prices are now being pushed)."""
    plan = rt.mapping.plan
    entries = read_price_file(path, plan.prices.currency, plan.prices.tax_included)
    followups: list[tuple[str, tuple[object, ...]]] = []
    with rt.transaction() as s:
        ref = f"PriceList/{path.name}"
        shops = record_prices(s, plan, rt.shop_connections(), entries, ref, followups)
    for shop in sorted(shops):
        rt.dispatcher.push_prices(shop)
    for task, ids in followups:  # the price parity check of the changed SKUs
        rt.dispatcher.call(task, *ids)
    return len(entries), sorted(shops)
