"""Helpers of the CSV connector tests: the fixtures folder, connectors, the drop folder."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from bridge.connector import ConnectorContext, InboundEvent, Page, Rejection
from connectors.csvtickets import CsvConfig, CsvTicketsConnector

DATA = Path(__file__).parent / "data"

COLUMNS = {
    "store": "Store",
    "workstation": "Till",
    "business_day": "Day",
    "ticket": "Receipt",
    "line": "Line",
    "sku": "Item",
    "barcode": "EAN",
    "quantity": "Qty",
    "unit_price": "Unit Price",
    "amount": "Line Total",
    "currency": "Currency",
    "tender": "Payment",
    "tender_amount": "Paid",
    "customer": "Card",
    "voided": "Void",
    "return_of": "Orig Receipt",
    "occurred_at": "Time",
}
"""The columns of ``data/tickets.csv``."""


def make(**settings: Any) -> CsvTicketsConnector:
    return CsvTicketsConnector(CsvConfig(**settings), ConnectorContext(connection="tills"))


def parse(conn: CsvTicketsConnector, name: str) -> list[InboundEvent | Rejection]:
    with (DATA / name).open("rb") as handle:
        return list(conn.parse_document(name, handle))


def events(items: list[InboundEvent | Rejection]) -> list[InboundEvent]:
    return [i for i in items if isinstance(i, InboundEvent)]


def rejections(items: list[InboundEvent | Rejection]) -> list[Rejection]:
    return [i for i in items if isinstance(i, Rejection)]


def put(drop: Path, name: str, *, age: float = 60, as_name: str = "", data: bytes = b"") -> Path:
    """Copy a fixture (or write ``data``) into the drop folder, ``age`` seconds old."""
    target = drop / (as_name or name)
    if data:
        target.write_bytes(data)
    else:
        shutil.copyfile(DATA / name, target)
    stamp = time.time() - age
    os.utime(target, (stamp, stamp))
    return target


def commit(page: Page) -> None:
    assert page.on_committed is not None
    page.on_committed()
