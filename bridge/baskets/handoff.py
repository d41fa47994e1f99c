"""The ``baskets`` outbox sink: opening and closing handed-off baskets on platforms.

One item per outbox row (a basket is opened on one platform at a time). What the platform
answers (its basket id and the link a customer opens) is stored on the handoff row and
journaled; a refusal marks the handoff failed, keeps a dead letter naming the basket, and
can be replayed once the cause is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.baskets import codes, journal
from bridge.baskets.tables import BasketHandoffRow, BasketRow
from bridge.connector import BasketWrite, WriteResult
from bridge.errors import ConfigError
from bridge.model.base import Record
from bridge.store.tables import DeadLetter, OutboxRow
from bridge.sync import deadletters
from bridge.sync.followups import SEND_OUTBOX
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)


class BasketSink:
    name = "baskets"

    def writes(self, items: Sequence[dict[str, Any]]) -> list[Record]:
        return [BasketWrite.model_validate(item) for item in items]

    def settle(
        self,
        rt: Runtime,
        s: Session,
        outbox_id: int,
        items: Sequence[dict[str, Any]],
        result: WriteResult,
    ) -> bool:
        follow: list[tuple[str, tuple[object, ...]]] = []
        for item in items:
            code, action = item["code"], item.get("action", "open")
            row, handoff = _rows(s, code, outbox_id)
            if row is None or handoff is None:
                continue
            if code in result.failed:
                follow += _failed(s, row, handoff, outbox_id, result.failed[code])
                continue
            seen = result.observed.get(code) or {}
            handoff.external_id = str(seen.get("id") or handoff.external_id or "") or None
            handoff.url = seen.get("url") or handoff.url
            handoff.updated_at = datetime.now(UTC)
            if action == "close":
                handoff.status = "closed"
                continue
            handoff.status = "open"
            if handoff.url and row.channel == "store":
                row.url = handoff.url  # the link printed for the customer
            follow += journal.append(
                s,
                row,
                "handoff_opened",
                key=f"{row.code}:opened:{outbox_id}",
                detail={"on": handoff.connection, "id": handoff.external_id, "url": handoff.url},
            )
        # Dispatched by the outbox once this transaction has committed.
        s.info.setdefault("followups", []).extend(follow)
        return False

    def requeue(self, rt: Runtime, connection: str) -> None:
        return None  # one row per write: nothing accumulates to push again

    def release(self, s: Session, outbox_id: int, items: Sequence[dict[str, Any]]) -> None:
        """The platform refused the whole row: the handoff failed (the outbox keeps the
        dead letter, whose replay re-sends this row)."""
        for item in items:
            row, handoff = _rows(s, item["code"], outbox_id)
            if row is not None and handoff is not None:
                handoff.status, handoff.error = "failed", "refused by the platform"
                journal.append(
                    s,
                    row,
                    "handoff_failed",
                    key=f"{row.code}:failed:{outbox_id}",
                    detail={"on": handoff.connection},
                )


def _rows(s: Session, code: str, outbox_id: int) -> tuple[BasketRow | None, Any]:
    row = s.scalar(select(BasketRow).where(BasketRow.code == code))
    if row is None:
        return None, None
    handoff = s.scalar(
        select(BasketHandoffRow).where(
            BasketHandoffRow.basket_id == row.id,
            BasketHandoffRow.outbox_id == outbox_id,
        )
    )
    if handoff is None:  # a close: the handoff row of that platform
        out = s.get(OutboxRow, outbox_id)
        handoff = s.scalar(
            select(BasketHandoffRow).where(
                BasketHandoffRow.basket_id == row.id,
                BasketHandoffRow.connection == (out.connection if out else None),
            )
        )
    return row, handoff


def _failed(
    s: Session, row: BasketRow, handoff: BasketHandoffRow, outbox_id: int, error: str
) -> list[tuple[str, tuple[object, ...]]]:
    handoff.status, handoff.error = "failed", error
    deadletters.record(
        s,
        connection=handoff.connection,
        stage="baskets",
        error=error,
        ref_id=handoff.id,
        record=codes.display(row.code),
    )
    log.warning("basket_handoff_failed", basket=row.code, on=handoff.connection, error=error)
    return journal.append(
        s,
        row,
        "handoff_failed",
        key=f"{row.code}:failed:{outbox_id}",
        detail={"on": handoff.connection, "error": error},
    )


def replay_dead_letter(s: Session, dl: DeadLetter) -> tuple[str, tuple[str, tuple[Any, ...]]]:
    """Open the basket on the platform again: the refused write, re-sent under a new
    idempotency key (the platform refused the old one, it must not be taken as a repeat)."""
    handoff = s.get(BasketHandoffRow, dl.ref_id) if dl.ref_id is not None else None
    old = s.get(OutboxRow, handoff.outbox_id) if handoff and handoff.outbox_id else None
    if handoff is None or old is None:
        raise ConfigError(f"dead letter #{dl.id} points at a missing basket handoff")
    row = s.get(BasketRow, handoff.basket_id)
    if row is None or row.status in journal.TERMINAL:
        raise ConfigError(f"dead letter #{dl.id}: the basket is closed, nothing to re-open")
    prefix = old.idempotency_key.rpartition(":")[0]
    serial = s.scalar(
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.idempotency_key.startswith(prefix + ":"))
    )
    new = OutboxRow(
        connection=old.connection,
        sink=old.sink,
        idempotency_key=f"{prefix}:{serial}",
        reference=old.reference,
        payload=old.payload,
        status="pending",
        mapping_version=old.mapping_version,
    )
    s.add(new)
    s.flush()
    handoff.status, handoff.error, handoff.outbox_id = "pending", None, new.id
    return (
        f"basket {codes.display(row.code)} will be opened on {handoff.connection} again",
        (SEND_OUTBOX, (new.id,)),
    )


BASKETS = BasketSink()
