"""Push each customer's balance to the connections listed under ``loyalty.publish``.

The pattern stock and prices use (``bridge.sync.publications``): a change marks the golden
record's publication stale for every such connection; a push claims stale publications
into an outbox row, sends absolute balances through the connection's ``loyalty`` sink and
frees them comparing ``version``, so a change made meanwhile is pushed again, never lost.
Many sales of one customer within a push window become one write (coalescing).

A balance goes to each account the customer has on that platform: the channel ids its
golden record holds under the connector's name (``shopify:<customer id>``, ``odoo:<partner
id>``). What each account was last sent is kept per account (``LoyaltyPublished``), so an
unchanged balance is never written again, and after a merge or its undo only the accounts
that really show another number are written. A customer unknown on a platform, or never
given a point and never published, gets no write there.

The identity core knows nothing of loyalty: merges and undos are noticed here
(``sync_merges``), by the sale hook, at each push and by the sweeper.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bridge.connector import Capability, LoyaltyWrite, WriteResult
from bridge.customers.views import PREFIX
from bridge.errors import ConfigError, DataError
from bridge.loyalty.ledger import balance_e4
from bridge.loyalty.tables import LoyaltyMergeSeen, LoyaltyPublication, LoyaltyPublished
from bridge.model import CustomerRef
from bridge.model.base import Record
from bridge.store.tables import Customer, CustomerKey, CustomerMerge, OutboxRow
from bridge.store.upsert import insert_ignore
from bridge.sync import deadletters, outbox, publications
from bridge.sync.ledger import from_e4
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)

PUSH = "brique.push_loyalty"
"""The follow-up task that pushes one connection's stale balances."""
SINK = "loyalty"
STAGE = "loyalty_push"
"""Dead letters of balances a platform refused (replay: push that customer again)."""
DEFAULT_BATCH = 25
SYNTHETIC = tuple(f"{kind}:" for kind in PREFIX.values())
"""Prefixes of the ids Brique makes up for records observed without a customer id."""


# --- marking stale ----------------------------------------------------------------------------


def mark(
    s: Session, connections: Iterable[str], goldens: Iterable[int], source_ref: str | None
) -> set[str]:
    """Flag the golden records' balances stale on each connection; the connections touched."""
    goldens = sorted(set(goldens))
    now = datetime.now(UTC)
    touched = set()
    for connection in sorted(set(connections)):
        for golden_id in goldens:
            key = {"connection": connection, "golden_id": golden_id}
            publications.mark_stale(s, LoyaltyPublication, key, source_ref, now)  # type: ignore[arg-type]
            touched.add(connection)
    return touched


def sync_merges(s: Session) -> set[int]:
    """Golden records a merge or an undo changed since last seen (their balances moved)."""
    rows = s.execute(
        select(
            CustomerMerge.id,
            CustomerMerge.winner_id,
            CustomerMerge.loser_id,
            CustomerMerge.undone_at,
            LoyaltyMergeSeen.undone,
        )
        .outerjoin(LoyaltyMergeSeen, LoyaltyMergeSeen.merge_id == CustomerMerge.id)
        .where(
            or_(
                LoyaltyMergeSeen.merge_id.is_(None),
                (LoyaltyMergeSeen.undone.is_(False)) & (CustomerMerge.undone_at.is_not(None)),
            )
        )
        .order_by(CustomerMerge.id)
    ).all()
    changed: set[int] = set()
    for merge_id, winner, loser, undone_at, seen in rows:
        changed |= {winner, loser}
        undone = undone_at is not None
        if seen is None:
            values = {"merge_id": merge_id, "undone": undone, "seen_at": datetime.now(UTC)}
            if insert_ignore(s, LoyaltyMergeSeen, values, ("merge_id",)) is not None:
                continue
        s.execute(
            update(LoyaltyMergeSeen)
            .where(LoyaltyMergeSeen.merge_id == merge_id)
            .values(undone=undone, seen_at=datetime.now(UTC))
        )
    return changed


def publish_targets(rt: Runtime) -> tuple[str, ...]:
    spec = rt.mapping.plan.spec.loyalty
    return () if spec is None else spec.publish


# --- claiming ---------------------------------------------------------------------------------


def platform_of(rt: Runtime, connection: str) -> str:
    """The name a connection's connector files its customer ids under (``shopify``)."""
    return rt.settings.connection(connection).connector


def external_ids(s: Session, golden_id: int, platform: str) -> list[str]:
    """The customer's ids on a platform (channel keys ``<platform>:<id>``), oldest first."""
    prefix = f"{platform}:"
    values = s.scalars(
        select(CustomerKey.value)
        .where(
            CustomerKey.golden_id == golden_id,
            CustomerKey.kind == "channel",
            CustomerKey.value.startswith(prefix, autoescape=True),
        )
        .order_by(CustomerKey.id)
    ).all()
    ids = [value[len(prefix) :] for value in values if len(value) > len(prefix)]
    # A record seen without a customer id gets a made-up one (``email:...``, see
    # ``bridge.customers.views``); its channel key names no account on any platform.
    return [ident for ident in ids if not ident.startswith(SYNTHETIC)]


def _card(s: Session, golden_id: int) -> str | None:
    return s.scalar(
        select(CustomerKey.value)
        .where(CustomerKey.golden_id == golden_id, CustomerKey.kind == "loyalty")
        .order_by(CustomerKey.id)
        .limit(1)
    )


def _items(
    s: Session, connection: str, platform: str, pub: LoyaltyPublication
) -> list[dict[str, Any]]:
    """The writes one stale publication needs (none when every account already shows it)."""
    customer = s.get(Customer, pub.golden_id)
    if customer is None or customer.merged_into is not None:
        return []  # merged away: its accounts now follow the winner's balance
    accounts = external_ids(s, pub.golden_id, platform)
    if not accounts:
        return []
    balance = balance_e4(s, pub.golden_id)
    sent = {
        row.external_id: row
        for row in s.scalars(
            select(LoyaltyPublished).where(
                LoyaltyPublished.connection == connection,
                LoyaltyPublished.external_id.in_(accounts),
            )
        )
    }
    card = _card(s, pub.golden_id)
    items = []
    for account in accounts:
        before = sent.get(account)
        if before is None and balance == 0:
            continue  # nothing earned, nothing ever shown: a write would say nothing
        if before is not None and before.balance_e4 == balance:
            continue
        items.append(
            {
                "pub": pub.id,
                "version": pub.version,
                "golden": pub.golden_id,
                "platform": platform,
                "external": account,
                "card": card,
                "balance_e4": balance,
                "previous_e4": None if before is None else before.balance_e4,
            }
        )
    return items


def batch_limit(rt: Runtime, connection: str) -> int:
    return int(rt.connector(connection).info.batch_limits.get(SINK, DEFAULT_BATCH))


def claim(rt: Runtime, connection: str) -> tuple[int | None, int]:
    """Claim up to one batch of stale balances into an outbox row.

    Returns (outbox id or None, stale publications dropped because nothing changed).
    """
    platform = platform_of(rt, connection)
    limit = batch_limit(rt, connection)
    unchanged = 0
    while True:
        with rt.transaction() as s:
            if outbox.stopped(s, connection):
                return None, unchanged
            pubs = publications.claim_stale(s, LoyaltyPublication, connection, limit)  # type: ignore[arg-type]
            if not pubs:
                return None, unchanged
            items: list[dict[str, Any]] = []
            for pub in pubs:
                found = _items(s, connection, platform, pub)
                if found:
                    items += found
                else:
                    pub.dirty = False
                    unchanged += 1
            if items:
                return _outbox(s, rt, connection, items), unchanged


def _outbox(s: Session, rt: Runtime, connection: str, items: list[dict[str, Any]]) -> int:
    body = json.dumps({"items": items}, sort_keys=True)
    key = f"{connection}:{SINK}:" + hashlib.sha256(body.encode()).hexdigest()[:32]
    out = OutboxRow(
        connection=connection,
        sink=SINK,
        idempotency_key=key,
        payload=body,
        status="pending",
        mapping_version=rt.mapping.plan.version,
    )
    s.add(out)
    s.flush()
    out.reference = f"LoyaltyPush/{out.id}"
    s.execute(
        update(LoyaltyPublication)
        .where(LoyaltyPublication.id.in_(sorted({i["pub"] for i in items})))
        .values(claimed_by=out.id)
    )
    return out.id


# --- pushing ----------------------------------------------------------------------------------


def _publishes(rt: Runtime, connection: str) -> bool:
    if connection not in publish_targets(rt):
        log.info("loyalty_not_published", connection=connection)
        return False
    try:
        info = rt.connector(connection).info
    except ConfigError as exc:  # listed under loyalty.publish, not configured (or broken)
        log.error("loyalty_publish_unconfigured", connection=connection, error=str(exc))
        return False
    if Capability.WRITE_LOYALTY not in info.capabilities:
        log.error(
            "loyalty_publish_unsupported",
            connection=connection,
            connector=info.name,
            who="admin",
            error=f"loyalty.publish lists {connection!r}, whose connector {info.name!r} "
            "does not write loyalty balances",
        )
        return False
    return True


def push(rt: Runtime, connection: str, max_batches: int = 50) -> list[int]:
    """Send what a failed try left pending, then claim and send stale balances until none
    is left (or ``max_batches`` is reached, and another push is queued)."""
    if not _publishes(rt, connection):
        return []
    with rt.transaction() as s:
        changed = sync_merges(s)
        others = mark(s, publish_targets(rt), changed, "Merge") - {connection}
    for other in sorted(others):
        rt.dispatcher.call(PUSH, other, connection=other)
    return outbox.drain(rt, connection, LOYALTY, lambda r, c: claim(r, c)[0], max_batches)


def sweep(rt: Runtime) -> int:
    """Free claims of finished rows, notice merges, queue a push per connection with stale
    balances nobody is pushing; the number of pushes queued."""
    targets = publish_targets(rt)
    if not targets:
        return 0
    with rt.transaction() as s:
        finished = select(OutboxRow.id).where(OutboxRow.status.in_(("sent", "dead")))
        s.execute(
            update(LoyaltyPublication)
            .where(LoyaltyPublication.claimed_by.in_(finished))
            .values(claimed_by=None)
        )
        mark(s, targets, sync_merges(s), "Merge")
        stale = set(
            s.scalars(
                select(LoyaltyPublication.connection)
                .where(
                    LoyaltyPublication.dirty.is_(True),
                    LoyaltyPublication.claimed_by.is_(None),
                )
                .distinct()
            )
        )
    queued = sorted(stale & set(targets))
    for connection in queued:
        rt.dispatcher.call(PUSH, connection, connection=connection)
    return len(queued)


def _upsert_sent(
    s: Session, connection: str, item: dict[str, Any], outbox_id: int, now: datetime
) -> None:
    values = {
        "golden_id": item["golden"],
        "balance_e4": item["balance_e4"],
        "outbox_id": outbox_id,
        "published_at": now,
    }
    key = {"connection": connection, "external_id": item["external"]}
    if insert_ignore(s, LoyaltyPublished, {**key, **values}, tuple(key)) is None:
        s.execute(
            update(LoyaltyPublished)
            .where(
                LoyaltyPublished.connection == connection,
                LoyaltyPublished.external_id == item["external"],
            )
            .values(**values)
        )


class LoyaltySink:
    """Absolute balances per platform account: a repeat writes the same number again."""

    name = SINK

    def writes(self, items: Sequence[dict[str, Any]]) -> list[Record]:
        return [
            LoyaltyWrite(
                customer=CustomerRef(
                    loyalty_card=i["card"], channel_ids={i["platform"]: i["external"]}
                ),
                balance=from_e4(i["balance_e4"]),
                previous=None if i["previous_e4"] is None else from_e4(i["previous_e4"]),
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
        again = False
        by_pub: dict[int, dict[str, Any]] = {}
        for item in items:
            by_pub.setdefault(item["pub"], item)
            account = item["external"]
            refusal = result.failed.get(account)
            if refusal is None and account in result.stale:
                refusal = f"the platform holds {result.stale[account]}, not the expected value"
            if refusal is not None:
                deadletters.record(
                    s,
                    connection=connection,
                    stage=STAGE,
                    error=DataError(refusal),
                    ref_id=outbox_id,
                    record=str(item["golden"]),
                    payload=json.dumps(item, sort_keys=True),
                )
                continue
            _upsert_sent(s, connection, item, outbox_id, now)
        for item in by_pub.values():
            mine = publications.unclaim(
                s,
                LoyaltyPublication,  # type: ignore[arg-type]
                outbox_id,
                item,
                published_at=now,
            )
            if not mine and balance_e4(s, item["golden"]) != item["balance_e4"]:
                # A re-sent (replayed) row wrote an older balance: push the current one.
                mark(s, [connection], [item["golden"]], f"LoyaltyPush/{outbox_id}")
                again = True
        return again

    def requeue(self, rt: Runtime, connection: str) -> None:
        rt.dispatcher.call(PUSH, connection, connection=connection)

    def release(self, s: Session, outbox_id: int, items: Sequence[dict[str, Any]]) -> None:
        for item in {i["pub"]: i for i in items}.values():
            publications.unclaim(s, LoyaltyPublication, outbox_id, item)  # type: ignore[arg-type]


LOYALTY = LoyaltySink()


def replay_dead_letter(s: Session, dl: Any) -> tuple[str, tuple[str, tuple[object, ...]]]:
    """A refused balance: mark that customer stale on that connection and push again."""
    try:
        golden_id = int(dl.record)
    except (TypeError, ValueError):
        raise ConfigError(f"dead letter #{dl.id}: no golden record id in {dl.record!r}") from None
    mark(s, [dl.connection], [golden_id], f"Replay/{dl.id}")
    return (
        f"the balance of customer {golden_id} will be pushed to {dl.connection} again",
        (PUSH, (dl.connection,)),
    )


def published_balance(s: Session, connection: str, account: str) -> Decimal | None:
    """What an account on a connection was last sent (None: never)."""
    row = s.scalar(
        select(LoyaltyPublished.balance_e4).where(
            LoyaltyPublished.connection == connection, LoyaltyPublished.external_id == account
        )
    )
    return None if row is None else from_e4(row)
