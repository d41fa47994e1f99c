"""Publish stale stock to a shop: claim dirty rows, write one outbox batch, send it.

Claiming and sending are separate commits. The outbox row (with its idempotency key) is
durable before the remote is called, so a crash between the call and the commit is repaired
by re-sending the same key, which the remote treats as a repeat.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.connector import StockWrite, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from bridge.store.tables import (
    ConnectionState,
    OutboxAttempt,
    OutboxRow,
    StockPublication,
)
from bridge.sync import deadletters
from bridge.sync.ledger import from_e4, levels, to_e4
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 100


def batch_limit(rt: Runtime, connection: str) -> int:
    return int(rt.connector(connection).info.batch_limits.get("stock", DEFAULT_BATCH))


def claim(rt: Runtime, connection: str) -> int | None:
    """Claim up to one batch of dirty items into a new outbox row; None when nothing is stale."""
    plan = rt.mapping.plan
    limit = batch_limit(rt, connection)
    with rt.transaction() as s:
        if _stopped(s, connection):
            return None
        pubs = list(
            s.scalars(
                select(StockPublication)
                .where(
                    StockPublication.connection == connection,
                    StockPublication.dirty.is_(True),
                    StockPublication.claimed_by.is_(None),
                )
                .order_by(StockPublication.dirty_since, StockPublication.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not pubs:
            return None
        pairs = [(p.sku, p.location) for p in pubs]
        buffers = {loc: plan.safety_buffer(loc) for _, loc in pairs}
        stock = levels(s, pairs, buffers)
        items = []
        for pub in pubs:
            target = plan.location_out(connection, pub.location)
            if target is None:
                pub.dirty = False
                continue
            available = stock[(pub.sku, pub.location)].available
            items.append(
                {
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
            return None
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
        # A row another process is sending right now (an attempt started recently and not
        # finished) is left to it; one abandoned by a dead worker is taken after stale_seconds.
        cutoff = datetime.now(UTC) - timedelta(seconds=rt.settings.stale_seconds)
        in_flight = (
            select(OutboxAttempt.id)
            .where(
                OutboxAttempt.outbox_id == OutboxRow.id,
                OutboxAttempt.finished_at.is_(None),
                OutboxAttempt.started_at > cutoff,
            )
            .exists()
        )
        pending = list(
            s.scalars(
                select(OutboxRow.id)
                .where(
                    OutboxRow.connection == connection,
                    OutboxRow.status == "pending",
                    ~in_flight,
                )
                .order_by(OutboxRow.id)
            )
        )
    sent = []
    for outbox_id in pending:
        if send(rt, outbox_id) == "sent":
            sent.append(outbox_id)
    for _ in range(max_batches):
        outbox_id = claim(rt, connection)
        if outbox_id is None:
            break
        send(rt, outbox_id)
        sent.append(outbox_id)
    else:
        rt.dispatcher.push_stock(connection)
    return sent


def send(rt: Runtime, outbox_id: int) -> str:
    """Send one outbox row; every try is an attempt row. Returns the row's final status."""
    with rt.transaction() as s:
        out = s.get(OutboxRow, outbox_id)
        if out is None or out.status != "pending":
            return out.status if out else "missing"
        out.attempts += 1
        attempt = OutboxAttempt(outbox_id=out.id)
        s.add(attempt)
        s.flush()
        attempt_id, connection = attempt.id, out.connection
        items = json.loads(out.payload)["items"]
        batch = WriteBatch(
            idempotency_key=out.idempotency_key,
            reference=out.reference,
            items=[
                StockWrite(
                    sku=i["sku"],
                    location=i["target"],
                    quantity=Decimal(i["quantity"]),
                    previous=None if i["previous"] is None else Decimal(i["previous"]),
                )
                for i in items
            ],
        )
    try:
        result = rt.connector(connection).write("stock", batch)
    except RateLimited as exc:
        _finish_attempt(rt, attempt_id, "rate_limited", str(exc))
        raise
    except TransientError as exc:
        _finish_attempt(rt, attempt_id, "transient", str(exc))
        raise
    except (AuthError, ConfigError) as exc:
        _block(rt, outbox_id, attempt_id, connection, exc)
        raise
    except DataError as exc:
        _give_up(rt, outbox_id, attempt_id, connection, items, exc)
        return "dead"
    now = datetime.now(UTC)
    with rt.transaction() as s:
        out = s.get(OutboxRow, outbox_id)
        assert out is not None
        out.status, out.sent_at, out.last_error = "sent", now, None
        att = s.get(OutboxAttempt, attempt_id)
        assert att is not None
        att.outcome, att.finished_at = "ok", now
        att.detail = f"written={result.written} failed={len(result.failed)}"
        for item in items:
            item_key = f"{item['sku']}@{item['target']}"
            if item_key in result.stale:
                # Not written: the shop holds something else. Recompute from the ledger, with
                # what the shop holds as the next compare-and-set value.
                held = result.stale[item_key]
                _unclaim(
                    s,
                    outbox_id,
                    item,
                    dirty=True,
                    version=StockPublication.version + 1,
                    dirty_since=now,
                    published_e4=None if held is None else to_e4(held),
                )
            elif item_key in result.failed:
                if _unclaim(s, outbox_id, item):
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
                _unclaim(
                    s,
                    outbox_id,
                    item,
                    published_e4=to_e4(Decimal(item["quantity"])),
                    published_at=now,
                )
    log.info(
        "stock_pushed",
        connection=connection,
        outbox=outbox_id,
        items=len(items),
        failed=len(result.failed),
        stale=len(result.stale),
    )
    if result.stale:
        rt.dispatcher.push_stock(connection)
    return "sent"


def _finish_attempt(rt: Runtime, attempt_id: int, outcome: str, detail: str) -> None:
    with rt.transaction() as s:
        att = s.get(OutboxAttempt, attempt_id)
        if att is not None:
            att.outcome, att.detail, att.finished_at = outcome, detail, datetime.now(UTC)
            out = s.get(OutboxRow, att.outbox_id)
            if out is not None:
                out.last_error = detail


def _unclaim(s: Session, outbox_id: int, item: dict[str, Any], **values: Any) -> bool:
    """Free one item this outbox row holds; stale again if it changed while in flight.

    One UPDATE, so a sale committing meanwhile cannot be lost: ``version`` is compared by
    the database at write time, not read earlier by us. False if the row was not ours.
    """
    values.setdefault("dirty", StockPublication.version != item["version"])
    freed = s.execute(
        update(StockPublication)
        .where(StockPublication.id == item["pub"], StockPublication.claimed_by == outbox_id)
        .values(claimed_by=None, **values)
    ).rowcount
    return bool(freed)


def _release(s: Session, outbox_id: int, items: list[dict[str, Any]]) -> None:
    for item in items:
        _unclaim(s, outbox_id, item)


def _give_up(
    rt: Runtime, outbox_id: int, attempt_id: int, connection: str, items: list[dict], exc: Exception
) -> None:
    _finish_attempt(rt, attempt_id, "data_error", str(exc))
    with rt.transaction() as s:
        out = s.get(OutboxRow, outbox_id)
        assert out is not None
        out.status, out.last_error = "dead", str(exc)
        _release(s, outbox_id, items)
        deadletters.record(
            s, connection=connection, stage="outbox", error=exc, ref_id=outbox_id,
            payload=out.payload,
        )  # fmt: skip
    log.warning("outbox_dead", connection=connection, outbox=outbox_id, error=str(exc))


def _block(rt: Runtime, outbox_id: int, attempt_id: int, connection: str, exc: Exception) -> None:
    """Auth or config refused: stop the connection until an admin acts; keep the row pending."""
    _finish_attempt(rt, attempt_id, "blocked", str(exc))
    with rt.transaction() as s:
        state = s.get(ConnectionState, connection)
        if state is None:
            s.add(ConnectionState(name=connection, status="stopped", reason=str(exc)))
        else:
            state.status, state.reason, state.updated_at = "stopped", str(exc), datetime.now(UTC)
    log.error("connection_stopped", connection=connection, error=str(exc), who="admin")


def _stopped(s, connection: str) -> bool:
    state = s.get(ConnectionState, connection)
    return state is not None and state.status == "stopped"
