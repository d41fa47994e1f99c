"""A deliberately hostile connector: every fault the contract kit must catch, on purpose.

Each fault is the natural mistake of a hurried author. ``test_hostile`` runs the kit's suites
against it and asserts each one fails, naming the fault; a kit that passes this connector
is a kit that checks nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bridge.connector import (
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorInfo,
    InboundEvent,
    Page,
    WebhookRequest,
    WriteBatch,
    WriteResult,
)
from bridge.model.base import Record

log = logging.getLogger(__name__)

TOKEN = "hostile-token-do-not-leak-42"


class HostileConfig(ConnectorConfig):
    api_token: str  # fault: a plain str secret, printed by repr()


class HostileBody(Record):
    sku: str
    amount: float  # fault: float money


class HostileRemote:
    """An in-memory remote that applies every write it receives (no idempotency keys)."""

    def __init__(self) -> None:
        self.applied = 0
        self.sizes: list[int] = []

    def applied_changes(self) -> int:
        return self.applied

    def write_call_sizes(self) -> list[int]:
        return list(self.sizes)

    def sample_webhook(self, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        return b'{"sku": "A", "amount": "1.10"}', {"X-Delivery": delivery_id}

    def sign(self, body: bytes) -> dict[str, str]:
        return {"X-Signature": "sig-" + str(len(body))}


HOSTILE_MAPPING = Path(__file__).with_name("hostile_mapping.yaml")
"""Its default mapping: inbound rules that do not undo the outbound ones."""


class HostileConnector(Connector):
    info = ConnectorInfo(
        name="hostile",
        kind="shop",
        version="0.0.1",
        capabilities=frozenset({Capability.WRITE_STOCK, Capability.WEBHOOKS}),
        config_model=HostileConfig,
        batch_limits={"stock": 10},
    )
    remote: HostileRemote

    def check(self) -> None:
        log.info("connecting with token %s", self.config.api_token)  # fault: secret in log

    def streams(self) -> tuple[str, ...]:
        return ("items",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        page = 0
        while True:  # fault: the "next" cursor never advances
            page += 1
            yield Page(
                events=[InboundEvent(key=f"item-{page}", kind="item", payload={})], cursor="p2"
            )

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        # fault: one call for the whole batch, and a fresh key per call (replays apply again)
        self.remote.sizes.append(len(batch.items))
        self.remote.applied += len(batch.items)
        return WriteResult(written=len(batch.items))

    def verify_webhook(self, request: WebhookRequest) -> None:
        return None  # fault: accepts anything

    def parse_webhook(self, request: WebhookRequest) -> list[InboundEvent]:
        # fault: a random key, so a redelivery is a new event
        return [
            InboundEvent(key=str(uuid.uuid4()), kind="product", payload={"sku": "A", "code": "A"})
        ]

    def decode(self, event: InboundEvent) -> list[Record]:
        payload: dict[str, Any] = event.payload
        return [HostileBody(sku=payload.get("sku", "A"), amount=1.1)]
