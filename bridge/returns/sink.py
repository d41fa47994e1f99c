"""The ``returns`` outbox sink: tell the shop that sold an order that it came back in store.

One outbox row per matched return (store ticket x web order), written in the transaction
that matched it, keyed by both: a replayed ticket finds the row and queues nothing twice,
and the connector passes the key to the platform (Shopify's ``@idempotent``, a marker the
WooCommerce and Vendure writers look for before writing). A platform refusing the write is
a dead letter of stage ``returns``; its replay queues a fresh row (see ``push``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.connector import ReturnWrite, WriteResult
from bridge.errors import DataError
from bridge.model.base import Record
from bridge.returns.tables import StoreReturn
from bridge.store.tables import OutboxRow
from bridge.store.upsert import insert_ignore
from bridge.sync import deadletters
from bridge.sync.runtime import Runtime

SINK = "returns"
STAGE = "returns"
"""Dead-letter stage of a write the shop refused (replayed by ``bridge.returns.push``)."""


def outbox_key(connection: str, ret: StoreReturn, order_id: str, suffix: str = "") -> str:
    """``<shop>:returns:<store ticket key>:<order id>``; hashed past the column's length."""
    key = f"{connection}:returns:{ret.connection}:{ret.ticket_key}:{order_id}{suffix}"
    if len(key) <= 255:
        return key
    return f"{connection}:returns:" + hashlib.sha256(key.encode()).hexdigest()


def queue(
    s: Session,
    connection: str,
    ret: StoreReturn,
    write: ReturnWrite,
    mapping_version: str | None,
    suffix: str = "",
) -> int:
    """The outbox row for ``write`` (created once); returns its id."""
    key = outbox_key(connection, ret, write.order_reference, suffix)
    payload = json.dumps({"items": [{"return": ret.id, "write": write.model_dump(mode="json")}]})
    insert_ignore(
        s,
        OutboxRow,
        {
            "connection": connection,
            "sink": SINK,
            "idempotency_key": key,
            "reference": f"Ticket/{ret.ticket_key}"[:255],
            "payload": payload,
            "status": "pending",
            "mapping_version": mapping_version,
            "created_at": datetime.now(UTC),
        },
        ("idempotency_key",),
    )
    return s.scalars(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)).one()


class ReturnsSink:
    """Items are ``{"return": store return id, "write": ReturnWrite as JSON}``."""

    name = SINK

    def writes(self, items: Sequence[dict[str, Any]]) -> list[Record]:
        return [ReturnWrite.model_validate(item["write"]) for item in items]

    def settle(
        self,
        rt: Runtime,
        s: Session,
        outbox_id: int,
        items: Sequence[dict[str, Any]],
        result: WriteResult,
    ) -> bool:
        out = s.get(OutboxRow, outbox_id)
        connection = out.connection if out is not None else "?"
        for item in items:
            ret = s.get(StoreReturn, item["return"])
            key = item["write"]["key"]
            if key in result.failed:
                message = result.failed[key]
                deadletters.record(
                    s, connection=connection, stage=STAGE, error=DataError(message),
                    ref_id=item["return"], record=key, payload=json.dumps(item),
                )  # fmt: skip
                if ret is not None and ret.outbox_id == outbox_id:
                    ret.shop_status, ret.shop_detail = "failed", message
            elif ret is not None and ret.outbox_id == outbox_id:
                seen = result.observed.get(key)
                ret.shop_status = "done"
                ret.shop_detail = None if seen is None else json.dumps(seen, default=str)
        return False

    def requeue(self, rt: Runtime, connection: str) -> None:
        """Nothing to push again: each return is its own row."""

    def release(self, s: Session, outbox_id: int, items: Sequence[dict[str, Any]]) -> None:
        """The shop refused the whole row (the outbox dead-lettered it)."""
        for item in items:
            ret = s.get(StoreReturn, item["return"])
            if ret is not None and ret.outbox_id == outbox_id:
                out = s.get(OutboxRow, outbox_id)
                ret.shop_status = "dead"
                ret.shop_detail = out.last_error if out is not None else None


RETURNS = ReturnsSink()
