"""The POSLog connector against the contract kit: a drop folder and an HTTP push endpoint.

There is no remote API to fail or to write to, so ``check`` and ``errors`` are skipped with
the reason; ``write`` is skipped by capability. The harness makes POSLog documents, drops
them as files (``read``) and "signs" pushes with the bearer token (``webhooks``).
"""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path
from typing import Any

from bridge.testing import ConnectorContract
from connectors.poslog import PosLogConnector

TOKEN = "contract-till-token-0123456789"

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<POSLog xmlns="http://www.nrf-arts.org/IXRetail/namespace/">
  <Transaction>
    <BusinessUnit><UnitID>S042</UnitID></BusinessUnit>
    <WorkstationID>7</WorkstationID>
    <SequenceNumber>{sequence}</SequenceNumber>
    <BusinessDayDate>2026-11-23</BusinessDayDate>
    <EndDateTime>2026-11-23T10:15:00</EndDateTime>
    <CurrencyCode>EUR</CurrencyCode>
    <RetailTransaction TransactionStatus="Finished">
      <LineItem>
        <SequenceNumber>1</SequenceNumber>
        <Sale>
          <ItemID>SOCKS-42</ItemID>
          <RegularSalesUnitPrice>4.99</RegularSalesUnitPrice>
          <ActualSalesUnitPrice>4.99</ActualSalesUnitPrice>
          <ExtendedAmount>9.98</ExtendedAmount>
          <Quantity>2</Quantity>
        </Sale>
      </LineItem>
      <Total TotalType="TransactionGrandAmount">9.98</Total>
    </RetailTransaction>
  </Transaction>
</POSLog>
"""


def document(sequence: int) -> bytes:
    return TEMPLATE.format(sequence=sequence).encode()


class DropFolder:
    """The kit's harness for a file-drop and HTTP-push source."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir()
        self.seeded = 0

    def seed(self, stream: str, count: int) -> None:
        assert stream == "sales"
        stamp = time.time() - 60  # older than any stable_seconds: ready to read
        for _ in range(count):
            self.seeded += 1
            path = self.folder / f"till-{self.seeded:04d}.xml"
            path.write_bytes(document(5000 + self.seeded))
            os.utime(path, (stamp, stamp))

    def sample_webhook(self, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        return document(zlib.crc32(delivery_id.encode()) % 100_000), {
            "Content-Type": "application/xml"
        }

    def sign(self, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}


REPO = Path(__file__).resolve().parents[2]


class TestPosLogContract(ConnectorContract):
    mapping_file = REPO / "mappings" / "defaults" / "poslog-shopify.yaml"
    mapping_connection = "tills"
    connector_class = PosLogConnector
    config = {"http_token": TOKEN, "default_currency": "EUR"}
    skip_suites = {
        "check": "a drop folder or push endpoint has no remote that could answer 401",
        "errors": "no outbound HTTP: the tills push to Brique, Brique never calls them",
    }

    def remote(self) -> Any:
        return DropFolder(self.tmp_path / "drop")

    def connector_settings(self, harness: Any) -> dict[str, Any]:
        return {**self.config, "drop_folder": str(harness.folder)}
