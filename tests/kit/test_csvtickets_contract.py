"""The CSV connector against the contract kit: a drop folder of ticket exports.

There is no remote API to fail or to write to, so ``check`` and ``errors`` are skipped with
the reason; ``write`` and ``webhooks`` are skipped by capability (no sink, no HTTP push), and
``logs`` by the kit itself (the settings hold no secret). The harness writes CSV exports,
several tickets per file with rows interleaved, and drops them as files (``read``); sample
events for the ``info`` and ``mapping`` suites come from parsing one export, and the
``mapping`` suite runs them through ``tests/csvtickets/data/contract-mapping.yaml``.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

from bridge.connector import Connector, InboundEvent
from bridge.testing import ConnectorContract
from connectors.csvtickets import CsvTicketsConnector

COLUMNS = {
    "store": "Shop",
    "workstation": "Till",
    "business_day": "Day",
    "ticket": "Receipt",
    "sku": "Article",
    "quantity": "Qty",
    "unit_price": "Price",
    "amount": "Total",
}
HEADER = "Shop;Till;Day;Receipt;Article;Qty;Price;Total\n"
TICKETS_PER_FILE = 3
MAPPING = Path(__file__).parents[1] / "csvtickets" / "data" / "contract-mapping.yaml"


def export(numbers: list[int]) -> bytes:
    """One CSV export: two lines per ticket, the tickets' rows interleaved."""
    first = [f"S042;7;2026-11-23;{n};SOCKS-42;2;4,99;9,98\n" for n in numbers]
    second = [f"S042;7;2026-11-23;{n};0004200;-1;12,50;-12,50\n" for n in numbers]
    return (HEADER + "".join(first) + "".join(second)).encode()


class CsvDrop:
    """The kit's harness for a folder tills export CSV into."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir()
        self.seeded = 0
        self.files = 0

    def seed(self, stream: str, count: int) -> None:
        assert stream == "sales"
        stamp = time.time() - 60  # older than any stable_seconds: ready to read
        numbers = list(range(self.seeded + 1, self.seeded + count + 1))
        self.seeded += count
        for start in range(0, count, TICKETS_PER_FILE):
            self.files += 1
            path = self.folder / f"export-{self.files:04d}.csv"
            path.write_bytes(export(numbers[start : start + TICKETS_PER_FILE]))
            os.utime(path, (stamp, stamp))


class TestCsvTicketsContract(ConnectorContract):
    connector_class = CsvTicketsConnector
    config = {
        "columns": COLUMNS,
        "delimiter": ";",
        "decimal_comma": True,
        "default_currency": "EUR",
        "timezone": "Europe/Paris",
    }
    mapping_file = MAPPING
    skip_suites = {
        "check": "a drop folder has no remote that could answer 401",
        "errors": "no outbound HTTP: the tills drop files, Brique never calls them",
    }

    def remote(self) -> Any:
        return CsvDrop(self.tmp_path / "drop")

    def connector_settings(self, harness: Any) -> dict[str, Any]:
        return {**self.config, "drop_folder": str(harness.folder)}

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        items = connector.parse_document("sample.csv", io.BytesIO(export([101, 102])))
        found = [i for i in items if isinstance(i, InboundEvent)]
        assert len(found) == 2, "the sample export holds two good tickets"
        return found
