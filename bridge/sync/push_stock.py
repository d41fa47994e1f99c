"""Publish stale stock to a shop: claim dirty rows, write one outbox batch, send it.

Claiming and sending are separate commits (see ``bridge.sync.outbox``); what a shop may
sell comes from the ledger through the mapping's stock rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.orm import Session

from bridge.connector import StockWrite, WriteResult
from bridge.errors import DataError
from bridge.mapping.rules import jsonable
from bridge.model.base import Record
from bridge.store.tables import ConnectionState, OutboxRow, StockPublication
from bridge.sync import deadletters, outbox, publications
from bridge.sync.ledger import from_e4, publishable, to_e4
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 100


def batch_limit(rt: Runtime, connection: str) -> int:
    return int(rt.connector(connection).info.batch_limits.get("stock", DEFAULT_BATCH))


def claim(rt: Runtime, connection: str) -> int | None:
    """Claim up to one batch of dirty items into a new outbox row; None when nothing is stale."""
    plan = rt.mapping.plan
    limit = batch_limit(rt, connection)
    while True:  # a batch where nothing changed is cleared; look at the next one
        with rt.transaction() as s:
            if outbox.stopped(s, connection):
                return None
            pubs = publications.claim_stale(s, StockPublication, connection, limit)
            if not pubs:
                return None
            pairs = [(p.sku, p.location) for p in pubs]
            shop = rt.connector(connection).info.kind == "shop"
            stock = publishable(s, plan.stock, pairs, rules=shop, own=connection)
            targets = plan.targets(connection)
            fields = plan.stock_fields(connection)
            items = []
            for pub in pubs:
                target = targets.get(pub.location)
                if target is None:
                    pub.dirty = False
                    continue
                available = stock[(pub.sku, pub.location)]
                if pub.published_e4 is not None and pub.published_e4 == to_e4(available):
                    pub.dirty = False  # e.g. a sale and its return in one window: nothing to write
                    continue
                try:
                    mapped = (
                        {} if fields is None else fields(pub.sku, pub.location, target, available)
                    )
                except DataError as exc:
                    pub.dirty = False  # a mapping problem: kept as a dead letter, replayable
                    deadletters.record(
                        s, connection=connection, stage="outbox", error=exc,
                        record=f"{pub.sku}@{pub.location}",
                    )  # fmt: skip
                    continue
                items.append(
                    {
                        "fields": jsonable(mapped),
                        "pub": pub.id,
                        "version": pub.version,
                        "sku": pub.sku,
                        "location": pub.location,
                        "target": target,
                        "quantity": format(available, "f"),
                        "previous": None
                        if pub.published_e4 is None
                        else format(from_e4(pub.published_e4), "f"),
                        "source": pub.source_ref,
                    }
                )
            if not items:
                continue  # leaving the block commits the cleared rows
            body = json.dumps({"items": items}, sort_keys=True)
            key = f"{connection}:stock:" + hashlib.sha256(body.encode()).hexdigest()[:32]
            sources = {i["source"] for i in items}
            out = OutboxRow(
                connection=connection,
                sink="stock",
                idempotency_key=key,
                payload=body,
                status="pending",
                mapping_version=plan.version,
            )
            s.add(out)
            s.flush()
            # The shop's history links to the ticket when one ticket explains the write; a
            # coalesced write links to this push, whose payload lists every source.
            (only,) = sources if len(sources) == 1 else (None,)
            out.reference = only or f"StockPush/{out.id}"
            s.execute(
                update(StockPublication)
                .where(StockPublication.id.in_([i["pub"] for i in items]))
                .values(claimed_by=out.id)
            )
            return out.id


def push(rt: Runtime, connection: str, max_batches: int = 50) -> list[int]:
    """Send what a failed try left pending, then claim and send batches until nothing is
    stale (or ``max_batches`` is reached, and another push is queued)."""
    with rt.transaction() as s:
        state = s.get(ConnectionState, connection)
        if state is not None:
            state.push_requested_at = None  # changes from now on queue a new push
    return outbox.drain(rt, connection, STOCK, claim, max_batches)


def send(rt: Runtime, outbox_id: int) -> str:
    """Send one outbox row (kept here for callers that only know stock)."""
    return outbox.send(rt, outbox_id)


class StockSink:
    """Absolute quantities per (sku, platform location), with compare-and-set."""

    name = "stock"

    def writes(self, items: Sequence[dict[str, Any]]) -> list[Record]:
        return [
            StockWrite(
                sku=i["sku"],
                location=i["target"],
                quantity=Decimal(i["quantity"]),
                previous=None if i["previous"] is None else Decimal(i["previous"]),
                fields=i.get("fields") or {},
            )
            for i in items
        ]

    def settle(
        self,
        rt: Runtime,
        s: Session,
        outbox_id: int,
        items: Sequence[dict[str, Any]],
        result: WriteResult,
    ) -> bool:
        now = datetime.now(UTC)
        connection = s.get(OutboxRow, outbox_id).connection  # type: ignore[union-attr]
        for item in items:
            item_key = f"{item['sku']}@{item['target']}"
            if item_key in result.stale:
                # Not written: the shop holds something else. Recompute from the ledger, with
                # what the shop holds as the next compare-and-set value.
                held = result.stale[item_key]
                publications.unclaim(
                    s,
                    StockPublication,
                    outbox_id,
                    item,
                    dirty=True,
                    version=StockPublication.version + 1,
                    dirty_since=now,
                    published_e4=None if held is None else to_e4(held),
                )
            elif item_key in result.failed:
                if publications.unclaim(s, StockPublication, outbox_id, item):
                    deadletters.record(
                        s,
                        connection=connection,
                        stage="outbox",
                        error=DataError(result.failed[item_key]),
                        ref_id=outbox_id,
                        record=f"{item['sku']}@{item['location']}",
                        payload=json.dumps(item),
                    )
            else:
                publications.unclaim(
                    s,
                    StockPublication,
                    outbox_id,
                    item,
                    published_e4=to_e4(Decimal(item["quantity"])),
                    published_at=now,
                )
        return bool(result.stale)

    def requeue(self, rt: Runtime, connection: str) -> None:
        rt.dispatcher.push_stock(connection)

    def release(self, s: Session, outbox_id: int, items: Sequence[dict[str, Any]]) -> None:
        for item in items:
            publications.unclaim(s, StockPublication, outbox_id, item)


STOCK = StockSink()
