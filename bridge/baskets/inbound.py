"""A basket a platform reports (a shop's cart or checkout, a till's suspended or draft
sale) enters the basket journal.

Keyed by (connection, platform id): the first sight creates it with a code, a change is an
``updated`` entry (an abandoned cart touched again is ``reactivated``), a version older than
the one held changes nothing, and a platform saying the basket became an order converts it.
A platform basket carrying a Brique code is the counterpart of a handoff: it updates that
handoff instead of making a second basket.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.baskets import codes, journal, people, service
from bridge.baskets.journal import Followups
from bridge.baskets.tables import BasketHandoffRow, BasketRow
from bridge.mapping.plan import MappingPlan
from bridge.model import BasketStatus
from bridge.model.basket import Basket
from bridge.sync.followups import SEND_OUTBOX


def record_basket(
    s: Session,
    plan: MappingPlan,
    connection: str,
    inbox_id: int,
    basket: Basket,
    followups: Followups,
) -> None:
    """Apply one platform basket (inside the inbox row's transaction)."""
    basket = basket.model_copy(
        update={
            "lines": tuple(
                line.model_copy(update={"sku": plan.sku_in(connection, line.sku)})
                for line in basket.lines
            )
        }
    )
    location = plan.location_in(connection, basket.location) if basket.location else None
    region = next((loc.region for loc in plan.spec.locations if loc.code == location), None)
    handed = _handoff_counterpart(s, connection, basket)
    if handed is not None:
        followups.extend(_counterpart(s, plan, connection, inbox_id, handed, basket))
        return
    row = service.by_source(s, connection, basket.basket_id)
    status = _status_of(basket)
    digest = service.basket_hash(basket)
    seen_at = _aware(basket.updated_at or basket.created_at)
    if row is None:
        row = service.insert(
            s,
            channel=basket.channel,
            currency=basket.currency,
            lines=basket.lines,
            status="active",
            customer=basket.customer,
            golden_id=people.observe_ref(s, connection, basket.customer, seen_at, region),
            location=location,
            source=(connection, basket.basket_id),
            url=basket.url,
            digest=digest,
            platform_updated_at=seen_at,
        )
        followups.extend(
            journal.append(
                s,
                row,
                "created",
                key=f"{row.code}:created",
                status="active",
                at=seen_at,
                detail={"source": connection, "inbox": inbox_id},
            )
        )
        if status in ("wish_list", "quote"):
            followups.extend(
                journal.append(s, row, status, key=f"{row.code}:{status}", status=status)
            )
    else:
        held = _aware(row.platform_updated_at)
        if held is not None and seen_at is not None and seen_at < held:
            return  # an older version arriving late
        if row.content_hash != digest and row.status not in journal.TERMINAL:
            was = row.status
            row.lines = service.lines_json(basket.lines)
            row.customer = (
                basket.customer.model_dump_json(exclude_defaults=True) if basket.customer else None
            )
            row.golden_id = (
                people.observe_ref(s, connection, basket.customer, seen_at, region) or row.golden_id
            )
            row.url = basket.url or row.url
            row.location = location or row.location
            row.content_hash = digest
            row.last_activity_at = seen_at or datetime.now(UTC)
            if seen_at is not None:
                row.platform_updated_at = seen_at
            new_status = status if status in ("wish_list", "quote") else None
            if was == "abandoned" and status == "active":
                event, new_status = "reactivated", "active"
            else:
                event = "updated"
            followups.extend(
                journal.append(
                    s,
                    row,
                    event,
                    key=f"{row.code}:{event}:{inbox_id}",
                    status=new_status,
                    at=seen_at,
                    detail={"inbox": inbox_id},
                )
            )
    if status == "converted":
        followups.extend(
            convert(s, plan, row, f"{connection}/{basket.order_reference or '-'}", on=connection)
        )
    elif status == "expired" and row.status not in journal.TERMINAL:
        followups.extend(
            journal.append(s, row, "expired", key=f"{row.code}:expired", status="expired")
        )


def convert(
    s: Session, plan: MappingPlan, row: BasketRow, ref: str, *, on: str | None
) -> Followups:
    """Mark ``row`` converted by ``ref`` once and close its other platform baskets."""
    if row.status == "converted":
        return []
    row.converted_ref = ref
    follow = journal.append(
        s,
        row,
        "converted",
        key=f"{row.code}:converted",
        status="converted",
        detail={"by": ref, "on": on},
    )
    if not follow and row.status != "converted":
        return []  # expired before: stays expired
    outbox_ids = service.close_writes(s, plan, row, but=on)
    if on != row.source_connection:
        closed = service.close_source(s, plan, row)
        if closed is not None:
            outbox_ids.append(closed)
    return follow + [(SEND_OUTBOX, (outbox_id,)) for outbox_id in outbox_ids]


def _status_of(basket: Basket) -> str:
    if basket.status is BasketStatus.CONVERTED or basket.order_reference:
        return "converted"
    if basket.status is BasketStatus.EXPIRED:
        return "expired"
    kind = basket.kind or basket.status
    if kind in (BasketStatus.WISH_LIST, BasketStatus.QUOTE):
        return kind.value
    return "active"


def _handoff_counterpart(
    s: Session, connection: str, basket: Basket
) -> tuple[BasketRow, BasketHandoffRow | None] | None:
    """The Brique basket this platform basket was opened for, by the code it carries or by
    the platform id the handoff recorded."""
    if basket.code:
        try:
            stored = codes.normalise(basket.code)
        except codes.CodeError:
            stored = None
        if stored is not None:
            row = s.scalar(select(BasketRow).where(BasketRow.code == stored))
            if row is not None and row.source_connection != connection:
                handoff = s.scalar(
                    select(BasketHandoffRow).where(
                        BasketHandoffRow.basket_id == row.id,
                        BasketHandoffRow.connection == connection,
                    )
                )
                return row, handoff
    handoff = s.scalar(
        select(BasketHandoffRow).where(
            BasketHandoffRow.connection == connection,
            BasketHandoffRow.external_id == basket.basket_id,
        )
    )
    if handoff is None:
        return None
    return s.get(BasketRow, handoff.basket_id), handoff


def _counterpart(
    s: Session,
    plan: MappingPlan,
    connection: str,
    inbox_id: int,
    found: tuple[BasketRow, BasketHandoffRow | None],
    basket: Basket,
) -> Followups:
    row, handoff = found
    if handoff is not None:
        handoff.external_id = handoff.external_id or basket.basket_id
        handoff.url = basket.url or handoff.url
    if _status_of(basket) == "converted":
        return convert(
            s,
            plan,
            row,
            f"{connection}/{basket.order_reference or basket.basket_id}",
            on=connection,
        )
    if row.status == "abandoned":
        row.last_activity_at = datetime.now(UTC)
        return journal.append(
            s,
            row,
            "reactivated",
            key=f"{row.code}:reactivated:{inbox_id}",
            status="transferred",
            detail={"on": connection},
        )
    return []


def _aware(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
