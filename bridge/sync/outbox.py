"""Sending outbox rows: one attempt row per try, errors sorted by who must act.

The outbox row (with its idempotency key) is durable before the remote is called, so a
crash between the call and the commit is repaired by re-sending the same key, which the
remote treats as a repeat. What a sink writes and how its items are settled afterwards is
the sink's business (``bridge.sync.sinks``); how a try is recorded is the same for all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.connector import WriteBatch, WriteResult
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from bridge.model.base import Record
from bridge.store.tables import ConnectionState, OutboxAttempt, OutboxRow
from bridge.sync import deadletters
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)


class Sink(Protocol):
    """One kind of outbound write (stock, prices) and how its items are settled."""

    name: str

    def writes(self, items: Sequence[dict[str, Any]]) -> list[Record]:
        """The connector's write records for the outbox payload's items."""
        ...

    def settle(
        self,
        rt: Runtime,
        s: Session,
        outbox_id: int,
        items: Sequence[dict[str, Any]],
        result: WriteResult,
    ) -> bool:
        """Record what was written, refused or found stale, and free the items; True when
        items must be pushed again (asked for after the commit, never inside it). Other
        follow-ups go in ``s.info["followups"]`` as ``(task, ids)``, dispatched after it."""
        ...

    def requeue(self, rt: Runtime, connection: str) -> None:
        """Queue another push of this sink for ``connection``."""
        ...

    def release(self, s: Session, outbox_id: int, items: Sequence[dict[str, Any]]) -> None:
        """Free the items of a row given up on, leaving them for the next push."""
        ...


def sink_for(name: str) -> Sink:
    from bridge.sync.sinks import SINKS

    try:
        return SINKS[name]
    except KeyError:
        raise ConfigError(f"no outbox sink {name!r}") from None


def pending_rows(rt: Runtime, connection: str, sink: str) -> list[int]:
    """Pending rows of ``connection`` nobody is sending right now.

    A row another process is sending (an attempt started recently, not finished) is left
    to it; one abandoned by a dead worker is taken after ``stale_seconds``.
    """
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
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(OutboxRow.id)
                .where(
                    OutboxRow.connection == connection,
                    OutboxRow.sink == sink,
                    OutboxRow.status == "pending",
                    ~in_flight,
                )
                .order_by(OutboxRow.id)
            )
        )


def drain(
    rt: Runtime,
    connection: str,
    sink: Sink,
    claim: Callable[[Runtime, str], int | None],
    max_batches: int,
) -> list[int]:
    """Send what a failed try left pending, then claim and send batches until nothing is
    stale (or ``max_batches`` is reached, and the sink queues another push)."""
    sent = [row for row in pending_rows(rt, connection, sink.name) if send(rt, row) == "sent"]
    for _ in range(max_batches):
        outbox_id = claim(rt, connection)
        if outbox_id is None:
            break
        send(rt, outbox_id)
        sent.append(outbox_id)
    else:
        sink.requeue(rt, connection)
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
        attempt_id, connection, sink = attempt.id, out.connection, sink_for(out.sink)
        items = json.loads(out.payload)["items"]
        batch = WriteBatch(
            idempotency_key=out.idempotency_key,
            reference=out.reference,
            items=sink.writes(items),
        )
    try:
        result = rt.connector(connection).write(sink.name, batch)
    except RateLimited as exc:
        finish_attempt(rt, attempt_id, "rate_limited", str(exc))
        raise
    except TransientError as exc:
        finish_attempt(rt, attempt_id, "transient", str(exc))
        raise
    except (AuthError, ConfigError) as exc:
        block(rt, attempt_id, connection, exc)
        raise
    except DataError as exc:
        give_up(rt, outbox_id, attempt_id, connection, sink, items, exc)
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
        again = sink.settle(rt, s, outbox_id, items, result)
        followups = s.info.pop("followups", [])
    for task, ids in followups:  # what settle asked for, now that it is committed
        rt.dispatcher.call(task, *ids)
    if again:
        sink.requeue(rt, connection)
    log.info(
        f"{sink.name}_pushed",
        connection=connection,
        outbox=outbox_id,
        items=len(items),
        failed=len(result.failed),
        stale=len(result.stale),
    )
    return "sent"


def finish_attempt(rt: Runtime, attempt_id: int, outcome: str, detail: str) -> None:
    with rt.transaction() as s:
        att = s.get(OutboxAttempt, attempt_id)
        if att is not None:
            att.outcome, att.detail, att.finished_at = outcome, detail, datetime.now(UTC)
            out = s.get(OutboxRow, att.outbox_id)
            if out is not None:
                out.last_error = detail


def give_up(
    rt: Runtime,
    outbox_id: int,
    attempt_id: int,
    connection: str,
    sink: Sink,
    items: Sequence[dict[str, Any]],
    exc: Exception,
) -> None:
    """The remote refused the whole row as data: dead-letter it and free its items."""
    finish_attempt(rt, attempt_id, "data_error", str(exc))
    with rt.transaction() as s:
        out = s.get(OutboxRow, outbox_id)
        assert out is not None
        out.status, out.last_error = "dead", str(exc)
        sink.release(s, outbox_id, items)
        deadletters.record(
            s, connection=connection, stage="outbox", error=exc, ref_id=outbox_id,
            payload=out.payload,
        )  # fmt: skip
    log.warning("outbox_dead", connection=connection, outbox=outbox_id, error=str(exc))


def block(rt: Runtime, attempt_id: int, connection: str, exc: Exception) -> None:
    """Auth or config refused: stop the connection until an admin acts; keep the row pending."""
    finish_attempt(rt, attempt_id, "blocked", str(exc))
    with rt.transaction() as s:
        state = s.get(ConnectionState, connection)
        if state is None:
            s.add(ConnectionState(name=connection, status="stopped", reason=str(exc)))
        else:
            state.status, state.reason, state.updated_at = "stopped", str(exc), datetime.now(UTC)
    log.error("connection_stopped", connection=connection, error=str(exc), who="admin")


def stopped(s: Session, connection: str) -> bool:
    state = s.get(ConnectionState, connection)
    return state is not None and state.status == "stopped"
