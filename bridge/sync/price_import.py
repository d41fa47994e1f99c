"""Import a price list (CSV ``sku,price[,list][,currency]``) into the price referential.

Every row is checked before anything is stored, and a bad row names its file and line.
Re-importing the same file changes nothing; a changed price is pushed to every shop
channel, and only where the channel's mapped fields really change.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bridge.errors import DataError
from bridge.model import Price, PriceEntry
from bridge.sync.push_prices import record_prices
from bridge.sync.runtime import Runtime


def read_price_file(path: Path, currency: str | None, tax_included: bool) -> list[PriceEntry]:
    entries = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"sku", "price"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
        seen: dict[tuple[str, str], int] = {}
        for rec in reader:
            line = reader.line_num
            sku = (rec.get("sku") or "").strip()
            price_list = (rec.get("list") or "").strip() or "default"
            text = (rec.get("price") or "").strip()
            row_currency = (rec.get("currency") or "").strip() or currency
            if not sku:
                raise DataError(f"{path}:{line}: empty sku")
            try:
                amount = Decimal(text)
            except InvalidOperation:
                raise DataError(f"{path}:{line}: price {text!r} is not a number") from None
            if not amount.is_finite() or amount < 0:
                raise DataError(f"{path}:{line}: price {text!r} is not a valid price")
            if row_currency is None:
                raise DataError(
                    f"{path}:{line}: no currency: add a currency column or set "
                    "prices.currency in the mapping"
                )
            if (sku, price_list) in seen:
                raise DataError(
                    f"{path}:{line}: {sku!r} appears twice in list {price_list!r} "
                    f"(first on line {seen[(sku, price_list)]})"
                )
            seen[(sku, price_list)] = line
            try:
                entries.append(
                    PriceEntry(
                        sku=sku,
                        price_list=price_list,
                        price=Price(
                            amount=amount, currency=row_currency, tax_included=tax_included
                        ),
                    )
                )
            except ValueError as exc:
                raise DataError(f"{path}:{line}: {exc}") from None
    return entries


def import_prices(rt: Runtime, path: Path) -> tuple[int, list[str]]:
    """Returns (rows read, shops whose prices are now being pushed)."""
    plan = rt.mapping.plan
    entries = read_price_file(path, plan.prices.currency, plan.prices.tax_included)
    with rt.transaction() as s:
        shops = record_prices(s, plan, rt.shop_connections(), entries, f"PriceList/{path.name}")
    for shop in sorted(shops):
        rt.dispatcher.push_prices(shop)
    return len(entries), sorted(shops)
