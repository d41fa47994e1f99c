"""The Odoo connector against the contract kit, over the scripted JSON-RPC server.

``FakeOdoo`` (``tests/odoo/odoo_fake.py``) is the whole harness: it answers ``/jsonrpc`` as
Odoo 16/17 do (records as ``search_read`` returns them, floats included, errors as JSON-RPC
``error`` objects), forces HTTP statuses and network failures, and seeds paid orders for the
``read`` suite. A POS read over JSON-RPC writes nothing and receives no webhook: the
``write`` and ``webhooks`` suites are skipped by capability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from bridge.connector import Connector, InboundEvent
from bridge.testing import ConnectorContract
from connectors.odoo import OdooConnector
from tests.odoo.odoo_fake import FakeOdoo, settings

REPO = Path(__file__).resolve().parents[2]


class TestOdooContract(ConnectorContract):
    connector_class = OdooConnector
    config: ClassVar[dict[str, Any]] = settings(page_size=3)
    mapping_file = REPO / "mappings" / "defaults" / "odoo-shopify.yaml"
    mapping_connection = "tills"

    def remote(self) -> Any:
        return FakeOdoo().serving()

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        """Orders read from the stream (a sale, a refund, float amounts, two tills), whose
        decoding the ``info`` and ``mapping`` suites inspect."""
        harness.seed("orders", 2)
        return [event for page in connector.read("orders") for event in page.events]
