"""The Tryton POS connector against the contract kit, over the scripted JSON-RPC server.

``FakeTryton`` (``tests/tryton/tryton_fake.py``) answers ``/<db>/rpc/`` as trytond 8.2
does (typed JSON objects, sessions, plain HTTP errors), forces HTTP statuses and network
failures, and seeds posted sales for the ``read`` suite. The connector reads sales and
stock and writes nothing, and Tryton sends no webhook: the ``write`` and ``webhooks``
suites are skipped by capability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from bridge.connector import Connector, InboundEvent
from bridge.testing import ConnectorContract
from connectors.tryton import TrytonConnector
from tests.tryton.tryton_fake import FakeTryton, settings

REPO = Path(__file__).resolve().parents[2]


class TestTrytonContract(ConnectorContract):
    connector_class = TrytonConnector
    config: ClassVar[dict[str, Any]] = settings(page_size=3)
    mapping_file = REPO / "mappings" / "defaults" / "tryton-shopify.yaml"
    mapping_connection = "tills"

    def remote(self) -> Any:
        return FakeTryton().serving()

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        """Sales read from the stream (a sale, a return, a 1.5 quantity, two sale points)."""
        harness.seed("sales", 2)
        return [event for page in connector.read("sales") for event in page.events]
