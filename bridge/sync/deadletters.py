"""Dead letters: what could not be processed, who must act, and how to replay it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from bridge.errors import ConfigError, who_must_act
from bridge.store.tables import DeadLetter, InboxRow, OutboxRow, PricePublication, StockPublication
from bridge.sync.runtime import Runtime


def record(
    session: Session,
    *,
    connection: str,
    stage: str,
    error: BaseException | str,
    ref_id: int | None = None,
    record: str | None = None,
    payload: str | None = None,
) -> DeadLetter:
    actor = who_must_act(error) if isinstance(error, BaseException) else "data owner"
    row = DeadLetter(
        connection=connection,
        stage=stage,
        ref_id=ref_id,
        record=_storable(record),
        error=_storable(str(error)),
        actor=actor,
        payload=_storable(payload),
    )
    session.add(row)
    return row


REPLAYERS: dict[str, str] = {
    "event": "bridge.events.delivery:replay_dead_letter",
    "returns": "bridge.returns.push:replay_dead_letter",
    "loyalty": "bridge.loyalty.sales:replay_dead_letter",
    "loyalty_push": "bridge.loyalty.push:replay_dead_letter",
    "baskets": "bridge.baskets.handoff:replay_dead_letter",
    "reservations": "bridge.orders.push:replay_dead_letter",
}
"""Stage -> ``"module:function"`` for a domain's own dead letters. The function takes
``(session, dead_letter)``, puts the record back on its path in that session and returns
``(what, followup)``: a sentence for the admin and ``(task, ids)`` to dispatch after the
commit (see ``bridge.sync.followups``), or None."""


@dataclass(frozen=True)
class Replayed:
    dead_letter_id: int
    what: str


def replay(rt: Runtime, dead_letter_id: int) -> Replayed:
    """Put the record back on its path; the dead letter is kept, marked ``replayed``."""
    follow_up: tuple[str, str, int] | None = None
    followup_task: tuple[str, tuple[object, ...]] | None = None
    with rt.transaction() as s:
        dl = s.get(DeadLetter, dead_letter_id)
        if dl is None:
            raise ConfigError(f"no dead letter #{dead_letter_id}")
        if dl.status != "open":
            return Replayed(dl.id, f"already {dl.status}")
        if dl.stage == "inbox" and dl.ref_id is not None:
            row = s.get(InboxRow, dl.ref_id)
            if row is None:
                raise ConfigError(f"dead letter #{dl.id} points at missing inbox row {dl.ref_id}")
            row.status, row.last_error = "pending", None
            follow_up = ("inbox", dl.connection, row.id)
            what = f"inbox row {row.id} ({row.event_key}) re-queued"
        elif dl.stage == "outbox" and dl.ref_id is not None:
            out = s.get(OutboxRow, dl.ref_id)
            if out is None:
                raise ConfigError(f"dead letter #{dl.id} points at missing outbox row {dl.ref_id}")
            if dl.record:
                sku, _, location = dl.record.partition("@")
                _mark_dirty(s, dl.connection, sku, location)
                follow_up = ("push", dl.connection, 0)
                what = f"{dl.record} will be pushed again"
            else:
                out.status, out.last_error = "pending", None
                follow_up = ("outbox", dl.connection, out.id)
                what = f"outbox row {out.id} re-queued"
        elif dl.stage == "prices" and dl.record:
            s.execute(
                update(PricePublication)
                .where(
                    PricePublication.connection == dl.connection, PricePublication.sku == dl.record
                )
                .values(dirty=True, version=PricePublication.version + 1)
            )
            follow_up = ("prices", dl.connection, 0)
            what = f"the price of {dl.record} will be computed and pushed again"
        elif dl.stage == "ingest" and _is_file(dl.payload):
            what = _requeue_file(rt, dl.connection, Path(dl.payload))
        elif dl.stage in REPLAYERS:
            module, _, name = REPLAYERS[dl.stage].partition(":")
            what, followup_task = getattr(import_module(module), name)(s, dl)
        else:
            raise ConfigError(f"dead letter #{dl.id} ({dl.stage}) cannot be replayed automatically")
        dl.status, dl.replayed_at = "replayed", datetime.now(UTC)
    if followup_task is not None:
        task, ids = followup_task
        rt.dispatcher.call(task, *ids)
    if follow_up:
        kind, conn, ref = follow_up
        if kind == "inbox":
            rt.dispatcher.process_inbox(conn, [ref])
        elif kind == "outbox":
            rt.dispatcher.send_outbox(conn, ref)
        elif kind == "prices":
            rt.dispatcher.push_prices(conn)
        else:
            rt.dispatcher.push_stock(conn)
    return Replayed(dead_letter_id, what)


def _mark_dirty(s: Session, connection: str, sku: str, location: str) -> None:
    """Stale again, in one UPDATE (a push in flight keeps its claim and sees the new version)."""
    s.execute(
        update(StockPublication)
        .where(
            StockPublication.connection == connection,
            StockPublication.sku == sku,
            StockPublication.location == location,
        )
        .values(dirty=True, version=StockPublication.version + 1, dirty_since=datetime.now(UTC))
    )


def _requeue_file(rt: Runtime, connection: str, path: Path) -> str:
    folder = rt.settings.connection(connection).config.get("drop_folder")
    if not folder:
        raise ConfigError(f"{connection} has no drop_folder to put {path.name} back into")
    target = Path(folder) / path.name
    path.rename(target)
    return f"{path.name} moved back to {folder}"


def _storable(text: str | None) -> str | None:
    """Text every database keeps: PostgreSQL refuses NUL bytes, and a dead letter must never
    be lost because of the bytes that made it one."""
    return None if text is None else text.replace("\0", "\\x00")


def _is_file(payload: str | None) -> bool:
    """Whether an ingest dead letter's payload names a file (rejected documents) rather than
    holding the rejected content itself (e.g. one ticket's CSV rows)."""
    if not payload or "\n" in payload or "\0" in payload or len(payload) > 4096:
        return False
    try:
        return Path(payload).is_file()
    except (OSError, ValueError):  # a name too long for the file system, and the like
        return False
