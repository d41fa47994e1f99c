"""Apply one inbox event: journal the sale, append ledger movements, mark shops stale.

Everything happens in one transaction keyed by ids that already exist, so running it twice
(a redelivered message, a sweeper re-queue, a crash before the ack) changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.connector import InboundEvent
from bridge.customers import IdentityError, ObservedCustomer, observe
from bridge.customers.model import check_region
from bridge.customers.views import fill_gaps, observed_from_sale
from bridge.errors import DataError
from bridge.mapping.plan import MappingPlan
from bridge.model import (
    BasketBody,
    MovementReason,
    PriceBody,
    Sale,
    SaleBody,
    StockLevelBody,
    content_hash,
)
from bridge.model.base import Record
from bridge.store.tables import (
    ConnectionState,
    CustomerRecord,
    InboxRow,
    SaleRow,
    StockMovementRow,
    StockPublication,
)
from bridge.store.upsert import insert_ignore
from bridge.sync import deadletters, gaps, publications, push_prices, sale_hooks
from bridge.sync.ledger import to_e4
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)


def process_inbox(rt: Runtime, inbox_id: int) -> list[str]:
    """Process one inbox row; returns the shop connections that now need a stock push."""
    with rt.sessions() as s:
        row = s.get(InboxRow, inbox_id)
        if row is None or row.status != "pending":
            return []
        connection = row.connection
        event = InboundEvent(
            key=row.event_key, kind=row.kind, payload=json.loads(row.payload), occurred_at=None
        )
    plan = rt.mapping.plan
    try:
        mapped = plan.inbound(connection, event.kind, event.payload)
        if mapped is not event.payload:
            event = InboundEvent(event.key, event.kind, mapped, event.occurred_at)
        bodies = rt.connector(connection).decode(event)
    except (DataError, ValidationError) as exc:
        _dead(rt, inbox_id, DataError(str(exc)))
        return []
    shops = rt.shop_connections()
    followups: list[tuple[str, tuple[object, ...]]] = []
    with rt.transaction() as s:
        row = s.get(InboxRow, inbox_id, with_for_update=True)
        if row is None or row.status != "pending":
            return []
        try:
            with s.begin_nested():
                touched, priced, status = _apply(s, plan, shops, row, bodies, followups)
        except DataError as exc:
            _bury(s, row, exc)
            return []
        row.status, row.processed_at = status, datetime.now(UTC)
        row.attempts += 1
        row.mapping_version = plan.version
        push = [shop for shop in touched if request_push(s, shop)]
    for shop in sorted(priced):
        rt.dispatcher.push_prices(shop, delay=rt.settings.coalesce_seconds)
    for task, ids in followups:
        rt.dispatcher.call(task, *ids)
    return push


def _dead(rt: Runtime, inbox_id: int, exc: DataError) -> None:
    with rt.transaction() as s:
        row = s.get(InboxRow, inbox_id, with_for_update=True)
        if row is not None and row.status == "pending":
            _bury(s, row, exc)


def _bury(s: Session, row: InboxRow, exc: DataError) -> None:
    """The event cannot be applied as it is: a dead letter names it, the row stops here."""
    row.status, row.last_error = "dead", str(exc)
    row.attempts += 1
    deadletters.record(
        s, connection=row.connection, stage="inbox", error=exc, ref_id=row.id,
        record=row.event_key, payload=row.payload,
    )  # fmt: skip
    log.warning("inbox_dead", connection=row.connection, key=row.event_key, error=str(exc))


def _apply(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    row: InboxRow,
    bodies: Sequence[Record],
    followups: list[tuple[str, tuple[object, ...]]],
) -> tuple[list[str], set[str], str]:
    touched: set[str] = set()
    priced: set[str] = set()
    status = "done"
    for body in bodies:
        if isinstance(body, PriceBody):
            ref = f"{row.connection}/{row.event_key}"
            priced |= push_prices.record_prices(s, plan, shops, [body.entry], ref, followups)
        elif isinstance(body, SaleBody):
            touched |= _apply_sale(s, plan, shops, row, body.sale, followups)
        elif isinstance(body, BasketBody):
            from bridge.baskets.inbound import record_basket

            record_basket(s, plan, row.connection, row.id, body.basket, followups)
        elif isinstance(body, StockLevelBody):
            if _apply_level(s, plan, row.connection, body):
                touched.add(row.connection)
            else:
                status = "echo"
        else:
            raise DataError(f"no use-case for {type(body).__name__}", record=row.event_key)
    return sorted(touched), priced, status


def _apply_sale(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    row: InboxRow,
    sale: Sale,
    followups: list[tuple[str, tuple[object, ...]]],
) -> set[str]:
    connection = row.connection
    key = sale.key.as_string()
    sale = canonical_sale(plan, connection, sale)
    location = plan.location_in(connection, sale.key.store) if sale.channel == "store" else None
    journaled = insert_ignore(
        s,
        SaleRow,
        {
            "store": sale.key.store,
            "workstation": sale.key.workstation,
            "business_day": sale.key.business_day,
            "sequence_no": gaps.sequence_number(sale.key.sequence),
            "connection": connection,
            "ticket_key": key,
            "channel": sale.channel,
            "location": location,
            "status": sale.status.value,
            "occurred_at": sale.occurred_at,
            "payload": sale.model_dump_json(),
            "content_hash": content_hash(sale),
            "inbox_id": row.id,
        },
        ("connection", "ticket_key"),
    )
    observe_customer(s, plan, connection, sale, location)
    if sale.channel == "web":  # versions in the journal, holds at the fulfilling store
        from bridge.orders.reserve import apply_web_order

        touched = apply_web_order(s, plan, shops, row, sale, journaled, followups)
    else:
        touched = _stock_movements(s, plan, shops, connection, key, sale, location)
    ctx = sale_hooks.SaleContext(
        session=s, plan=plan, shops=shops, connection=connection, sale=sale,
        location=location, inbox_id=row.id, first=journaled is not None,
    )  # fmt: skip
    sale_hooks.after_sale(ctx)
    followups.extend(ctx.followups)
    return touched | ctx.touched


def _stock_movements(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    connection: str,
    key: str,
    sale: Sale,
    location: str | None,
) -> set[str]:
    """A store sale's lines as ledger movements at its store (one key per line)."""
    if location is None:
        return set()
    touched: set[str] = set()
    for line in sale.stock_lines():
        sku = line.sku
        try:
            delta = to_e4(-line.quantity)
        except ValueError as exc:
            raise DataError(str(exc), record=f"{key} line {line.line_no}") from exc
        new = insert_ignore(
            s,
            StockMovementRow,
            {
                "movement_key": f"{connection}:{key}:{line.line_no}",
                "sku": sku,
                "location": location,
                "delta_e4": delta,
                "reason": (MovementReason.RETURN if line.is_return else MovementReason.SALE).value,
                "source_connection": connection,
                "source_ref": key,
                "mapping_version": plan.version,
            },
            ("movement_key",),
        )
        if new is not None:
            touched |= mark_dirty(s, plan, shops, sku, location, f"Ticket/{key}")
    return touched


def observe_customer(
    s: Session, plan: MappingPlan, connection: str, sale: Sale, location: str | None
) -> None:
    """Feed the sale's customer to the golden records, in this transaction (a savepoint).

    The sale is the fiscal truth: a customer reference the identity model cannot use (no
    valid key, a refused field) is logged and the sale kept. A ticket older than the
    customer's last observation on this connection only fills that observation's gaps, so
    a replayed or late ticket never rolls a record back. The sale row holds no golden id
    (no such column): the journal payload keeps the reference itself.
    """
    if sale.customer is None:
        return
    ticket = f"{connection}/{sale.key.as_string()}"
    region = next((loc.region for loc in plan.spec.locations if loc.code == location), None)
    try:
        region = check_region(region) if region else None
    except ValueError as exc:
        log.warning("customer_region_ignored", ticket=ticket, error=str(exc))
        region = None
    try:
        found = observed_from_sale(connection, sale, region)
    except ValueError as exc:  # pydantic's ValidationError is one
        log.warning("customer_not_observed", ticket=ticket, error=str(exc))
        return
    record = found.record
    if record is None:
        log.warning("customer_not_observed", ticket=ticket, error="; ".join(found.notes))
        return
    if record.observed_at is not None:
        stored = s.execute(
            select(CustomerRecord.observed_at, CustomerRecord.raw).where(
                CustomerRecord.source == record.source,
                CustomerRecord.source_id == record.source_id,
            )
        ).first()
        if stored is not None and _aware(stored.observed_at) > record.observed_at:
            newer = ObservedCustomer.model_validate_json(stored.raw)
            record = fill_gaps(newer, record)
            if record == newer:
                return  # an older ticket with nothing new: the record stays as it is
    try:
        with s.begin_nested():
            golden_id = observe(s, record, region=region)
    except (DataError, IdentityError) as exc:
        log.warning("customer_not_observed", ticket=ticket, error=str(exc))
        return
    log.debug("customer_observed", ticket=ticket, golden_id=golden_id)


def _aware(at: datetime) -> datetime:
    """SQLite hands stamps back without their zone; they are stored in UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def canonical_sale(plan: MappingPlan, connection: str, sale: Sale) -> Sale:
    """The sale in Brique's terms: SKUs, tender kinds and units through the mapping, so the
    journal holds one vocabulary whatever the till called things."""
    lines = tuple(
        line.model_copy(
            update={
                "sku": plan.sku_in(connection, line.sku),
                "unit": None if line.unit is None else plan.unit_in(connection, line.unit),
            }
        )
        for line in sale.lines
    )
    tenders = tuple(
        t.model_copy(update={"kind": plan.tender_in(connection, t.kind)}) for t in sale.tenders
    )
    return sale.model_copy(update={"lines": lines, "tenders": tenders})


def request_push(s: Session, shop: str) -> bool:
    """True when no push is queued for ``shop`` yet (the caller queues one).

    Changes to many SKUs within the coalescing window then share one push, not one each.
    """
    now = datetime.now(UTC)
    pending = ConnectionState.push_requested_at.is_(None)
    if s.execute(
        update(ConnectionState)
        .where(ConnectionState.name == shop, pending)
        .values(push_requested_at=now)
    ).rowcount:
        return True
    if s.get(ConnectionState, shop) is not None:
        return False
    return (
        insert_ignore(
            s, ConnectionState, {"name": shop, "status": "ok", "push_requested_at": now}, ("name",)
        )
        is not None
    )


def mark_dirty(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    sku: str,
    location: str,
    source_ref: str | None = None,
) -> set[str]:
    """Flag (sku, location) stale for every shop that publishes this location or a pool
    holding it.

    One UPDATE per shop: a push finishing concurrently compares ``version`` in its own
    UPDATE, so whichever commits second sees the other's change and the row stays stale.
    Returns the shops concerned; ``request_push`` decides which need a push queued.
    """
    touched = set()
    now = datetime.now(UTC)
    for shop in shops:
        for target in plan.published_locations(shop, location):
            key = {"connection": shop, "sku": sku, "location": target}
            publications.mark_stale(s, StockPublication, key, source_ref, now)
            touched.add(shop)
    return touched


def _apply_level(s: Session, plan: MappingPlan, connection: str, body: StockLevelBody) -> bool:
    """A shop reports a quantity: drop our own echo, otherwise re-assert the ledger's truth."""
    level = body.level
    location = plan.location_in(connection, level.location)
    pub = s.scalar(
        select(StockPublication).where(
            StockPublication.connection == connection,
            StockPublication.sku == level.sku,
            StockPublication.location == location,
        )
    )
    held = to_e4(level.on_hand)
    if pub is not None and pub.published_e4 == held:
        return False
    log.info("shop_stock_drift", connection=connection, sku=level.sku, location=location)
    if pub is not None:
        # What the shop holds now: the next push compares against it and, if the ledger
        # says otherwise, writes; an unchanged ledger value is then never skipped wrongly.
        s.execute(
            update(StockPublication).where(StockPublication.id == pub.id).values(published_e4=held)
        )
    return bool(mark_dirty(s, plan, [connection], level.sku, location, f"Drift/{connection}"))
