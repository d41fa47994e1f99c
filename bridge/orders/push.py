"""Tell a store's tills what its web orders hold (sink ``reservations``).

Which tills: the connections the mapping gives an id for the store (``locations[].ids``)
whose connector declares ``write_reservations``. A hold whose ``version`` is above what a
till was told (``HoldPublication.published_version``) is stale for it; a push claims stale
holds into one outbox row (absolute quantities, one item per order line), sends it, and
records what was written. A hold changed while its write was in flight stays stale and is
sent again; one the till refused is dead-lettered (stage ``reservations``, replayable) and
not retried until it changes.

Item key in ``WriteResult``: ``<order_reference>#<line_no>:<sku>@<location>`` (the
platform's SKU and location id: a line whose SKU or store changed is two holds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bridge.connector import Capability, ReservationWrite, WriteResult
from bridge.errors import BriqueError, DataError
from bridge.model.base import Record
from bridge.orders.reserve import PUSH
from bridge.orders.tables import HoldPublication, OrderHoldRow, WebOrderRow
from bridge.store.tables import DeadLetter, OutboxRow
from bridge.store.upsert import insert_ignore
from bridge.sync import deadletters, outbox
from bridge.sync.ledger import from_e4
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)

SINK = "reservations"
STAGE = "reservations"
DEFAULT_BATCH = 100


def item_key(item: dict[str, Any]) -> str:
    """The key a connector answers a ``ReservationWrite`` under in ``WriteResult``."""
    return f"{item['order_reference']}#{item['line_no']}:{item['sku']}@{item['location']}"


def tills(rt: Runtime, location: str | None = None) -> list[str]:
    """Enabled connections that can show holds, serving ``location`` (any store if None)."""
    plan = rt.mapping.plan
    names = plan.connections_for_location(location) if location else list(rt.settings.connections)
    found = []
    for name in dict.fromkeys(names):
        conn = rt.settings.connections.get(name)
        if conn is None or not conn.enabled:
            continue
        try:
            info = rt.connector(name).info
        except BriqueError as exc:  # a broken connection is reported by its own status
            log.warning("reservations_till_unavailable", connection=name, error=str(exc))
            continue
        if Capability.WRITE_RESERVATIONS in info.capabilities:
            found.append(name)
    return found


def _served(rt: Runtime, connection: str) -> list[str]:
    plan = rt.mapping.plan
    return sorted(loc for loc in plan.targets(connection) if loc not in plan.stock.pools)


def push(rt: Runtime, *locations: str) -> list[int]:
    """Follow-up ``brique.push_reservations``: send every stale hold of the tills of
    ``locations``. Idempotent: nothing stale, nothing sent."""
    connections = dict.fromkeys(c for loc in locations for c in tills(rt, loc))
    sent: list[int] = []
    for connection in connections:
        sent += outbox.drain(rt, connection, RESERVATIONS, claim, max_batches=50)
    return sent


def _stale(connection: str, served: Sequence[str]) -> Any:
    """Holds at ``served`` stores that ``connection`` was not told of in their version, and
    that no write in flight carries."""
    behind = or_(
        HoldPublication.id.is_(None),
        and_(
            HoldPublication.published_version < OrderHoldRow.version,
            HoldPublication.claimed_by.is_(None),
        ),
    )
    return (
        select(OrderHoldRow.id)
        .outerjoin(
            HoldPublication,
            and_(
                HoldPublication.hold_id == OrderHoldRow.id,
                HoldPublication.connection == connection,
            ),
        )
        .where(OrderHoldRow.location.in_(served), behind)
    )


def claim(rt: Runtime, connection: str) -> int | None:
    """Claim up to one batch of stale holds into a new outbox row; None when none is stale."""
    plan = rt.mapping.plan
    served = _served(rt, connection)
    if not served:
        return None
    targets = plan.targets(connection)
    limit = int(rt.connector(connection).info.batch_limits.get(SINK, DEFAULT_BATCH))
    while True:  # a batch where nothing needs telling is settled here; look at the next one
        with rt.transaction() as s:
            if outbox.stopped(s, connection):
                return None
            ids = s.scalars(_stale(connection, served).limit(limit * 4)).all()
            for hold_id in ids:
                insert_ignore(
                    s,
                    HoldPublication,
                    {"connection": connection, "hold_id": hold_id, "published_version": 0},
                    ("connection", "hold_id"),
                )
            rows = s.execute(
                select(HoldPublication, OrderHoldRow, WebOrderRow)
                .join(OrderHoldRow, OrderHoldRow.id == HoldPublication.hold_id)
                .join(WebOrderRow, WebOrderRow.id == OrderHoldRow.order_id)
                .where(
                    HoldPublication.connection == connection,
                    HoldPublication.hold_id.in_(ids),
                    HoldPublication.published_version < OrderHoldRow.version,
                    HoldPublication.claimed_by.is_(None),
                )
                .order_by(OrderHoldRow.updated_at, OrderHoldRow.id)
                .limit(limit)
                .with_for_update(of=HoldPublication, skip_locked=True)
            ).all()
            if not rows:
                return None
            items = []
            for pub, held, order in rows:
                told = pub.published_e4 if pub.published_e4 is not None else 0
                if held.held_e4 == told:  # e.g. 2 -> 3 -> 2 in one window, or never held
                    pub.published_version, pub.published_e4 = held.version, held.held_e4
                    continue
                items.append(
                    {
                        "pub": pub.id,
                        "version": held.version,
                        "order_reference": f"{order.connection}:{order.order_number}",
                        "line_no": held.line_no,
                        "sku": plan.sku_out(connection, held.sku),
                        "store": held.location,
                        "location": targets[held.location],
                        "quantity": format(from_e4(held.held_e4), "f"),
                        "quantity_e4": held.held_e4,
                        "reference": f"Order/{order.order_key}",
                    }
                )
            if not items:
                continue
            body = json.dumps({"items": items}, sort_keys=True)
            key = f"{connection}:{SINK}:" + hashlib.sha256(body.encode()).hexdigest()[:32]
            refs = {i["reference"] for i in items}
            out = OutboxRow(
                connection=connection,
                sink=SINK,
                idempotency_key=key,
                reference=refs.pop() if len(refs) == 1 else None,
                payload=body,
                status="pending",
                mapping_version=plan.version,
            )
            s.add(out)
            s.flush()
            if out.reference is None:
                out.reference = f"ReservationPush/{out.id}"
            s.execute(
                update(HoldPublication)
                .where(HoldPublication.id.in_([i["pub"] for i in items]))
                .values(claimed_by=out.id)
            )
            return out.id


class ReservationSink:
    """Absolute holds per (order, line) at a till's store."""

    name = SINK

    def writes(self, items: Sequence[dict[str, Any]]) -> list[Record]:
        return [
            ReservationWrite(
                order_reference=i["order_reference"],
                line_no=i["line_no"],
                sku=i["sku"],
                location=i["location"],
                quantity=Decimal(i["quantity"]),
                reference=i["reference"],
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
            key = item_key(item)
            error = result.failed.get(key)
            # Told (or refused) in this version: a newer version stays stale and goes next.
            # A row given up on and replayed finds its holds released: it records them too,
            # unless a newer write holds them or told them since.
            freed = s.execute(
                update(HoldPublication)
                .where(
                    HoldPublication.id == item["pub"],
                    or_(
                        HoldPublication.claimed_by == outbox_id,
                        HoldPublication.claimed_by.is_(None),
                    ),
                    HoldPublication.published_version <= item["version"],
                )
                .values(
                    claimed_by=None,
                    published_version=item["version"],
                    published_e4=item["quantity_e4"]
                    if error is None
                    else HoldPublication.published_e4,
                    published_at=now if error is None else HoldPublication.published_at,
                    error=error,
                )
            ).rowcount
            if error is not None and freed:
                deadletters.record(
                    s,
                    connection=connection,
                    stage=STAGE,
                    error=DataError(error),
                    ref_id=item["pub"],
                    record=f"{key} ({item['store']})",
                    payload=json.dumps(item, sort_keys=True),
                )
        return False

    def requeue(self, rt: Runtime, connection: str) -> None:
        rt.dispatcher.call(PUSH, *_served(rt, connection), connection=connection)

    def release(self, s: Session, outbox_id: int, items: Sequence[dict[str, Any]]) -> None:
        """The till refused the whole row (its dead letter replays it): its holds are not
        sent again until they change, so the next claim is never the same write."""
        for item in items:
            s.execute(
                update(HoldPublication)
                .where(HoldPublication.id == item["pub"], HoldPublication.claimed_by == outbox_id)
                .values(
                    claimed_by=None,
                    published_version=item["version"],
                    error=f"outbox row {outbox_id} was refused as a whole (see its dead letter)",
                )
            )


RESERVATIONS = ReservationSink()


def replay_dead_letter(s: Session, dl: DeadLetter) -> tuple[str, tuple[str, tuple[object, ...]]]:
    """A refused hold (stage ``reservations``): tell the till again, with what it holds now."""
    pub = s.get(HoldPublication, dl.ref_id) if dl.ref_id is not None else None
    if pub is None:
        raise DataError(f"dead letter #{dl.id} points at no hold publication")
    held = s.get(OrderHoldRow, pub.hold_id)
    assert held is not None
    held.version += 1  # stale again for its tills (a till told this value already skips it)
    pub.error = None
    return f"{dl.record} will be sent to {pub.connection} again", (PUSH, (held.location,))


def sweep(rt: Runtime) -> int:
    """Stores whose tills were not told of a hold (a lost follow-up): push them again."""
    stores: set[str] = set()
    with rt.sessions() as s:
        for connection in tills(rt):
            served = _served(rt, connection)
            if not served:
                continue
            stale = (
                select(OrderHoldRow.location)
                .where(OrderHoldRow.id.in_(_stale(connection, served).scalar_subquery()))
                .distinct()
            )
            stores.update(s.scalars(stale).all())
    if stores:
        rt.dispatcher.call(PUSH, *sorted(stores))
    return len(stores)
