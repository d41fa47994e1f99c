"""Baskets as use-cases: build one, find it by code, see it at a store, hand it over.

Handing a basket to another platform (a web cart with its checkout link, a draft sale at a
till) is an outbox write on the ``baskets`` sink, keyed by code and connection, so asking
twice opens one basket; the platform's id and link come back through the sink's settle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.baskets import codes, journal, people
from bridge.baskets.journal import Followups
from bridge.baskets.tables import BasketHandoffRow, BasketRow
from bridge.connector import BasketWrite
from bridge.errors import ConfigError, DataError
from bridge.mapping.plan import MappingPlan
from bridge.model import BasketLine, CustomerRef, Money, content_hash
from bridge.model.basket import Basket
from bridge.store.tables import OutboxRow, PriceRow
from bridge.sync import ledger

OPEN_STATUSES = ("active", "wish_list", "quote", "abandoned", "transferred")


class NotFound(LookupError):
    """No basket with that code (or source id)."""


def lines_json(lines: Sequence[BasketLine]) -> str:
    return json.dumps(
        [
            {
                "sku": line.sku,
                "quantity": format(line.quantity, "f"),
                "unit_price": (
                    None
                    if line.unit_price is None
                    else {
                        "amount": format(line.unit_price.amount, "f"),
                        "currency": line.unit_price.currency,
                    }
                ),
            }
            for line in lines
        ]
    )


def lines_of(row: BasketRow) -> list[BasketLine]:
    return [BasketLine.model_validate(item) for item in json.loads(row.lines)]


def basket_hash(basket: Basket) -> str:
    """What counts as a change: lines, customer, status, kind (not the platform's stamps)."""
    return content_hash(
        basket.model_copy(update={"created_at": None, "updated_at": None, "url": None})
    )


def insert(
    s: Session,
    *,
    channel: str,
    currency: str,
    lines: Sequence[BasketLine],
    status: str = "active",
    customer: CustomerRef | None = None,
    golden_id: int | None = None,
    location: str | None = None,
    source: tuple[str, str] | None = None,
    url: str | None = None,
    digest: str = "",
    platform_updated_at: datetime | None = None,
) -> BasketRow:
    """A new basket row with a fresh code (retried on the rare collision)."""
    for _ in range(8):
        row = BasketRow(
            code=codes.new_code(),
            channel=channel,
            status=status,
            currency=currency,
            lines=lines_json(lines),
            customer=customer.model_dump_json(exclude_defaults=True) if customer else None,
            golden_id=golden_id,
            location=location,
            source_connection=source[0] if source else None,
            source_id=source[1] if source else None,
            url=url,
            content_hash=digest,
            platform_updated_at=platform_updated_at,
            last_activity_at=platform_updated_at or datetime.now(UTC),
        )
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:
            if source is not None and by_source(s, *source) is not None:
                raise  # a concurrent insert of the same platform basket: let the caller retry
            continue
        return row
    raise RuntimeError("could not draw an unused basket code in 8 tries")


def build(
    s: Session,
    plan: MappingPlan,
    *,
    store: str | None,
    currency: str | None,
    lines: Sequence[BasketLine],
    customer: CustomerRef | None = None,
    kind: str = "active",
    key: str | None = None,
) -> tuple[BasketRow, Followups]:
    """A basket built through Brique (showroom scans at a store, a quote, a wish list).

    ``key`` (the caller's request id) makes a retried request return the same basket.
    """
    if not lines:
        raise DataError("a basket needs at least one line")
    if store is not None and store not in {loc.code for loc in plan.spec.locations}:
        raise DataError(f"unknown store {store!r}: not a location of the mapping")
    if kind not in ("active", "wish_list", "quote"):
        raise DataError(f"basket kind {kind!r}: use active, wish_list or quote")
    cur = currency or plan.prices.currency
    if cur is None:
        raise DataError("no currency given and prices.currency is not set in the mapping")
    source = ("api", key) if key else None
    if source is not None:
        found = by_source(s, *source)
        if found is not None:
            return found, []
    region = next((loc.region for loc in plan.spec.locations if loc.code == store), None)
    golden_id = people.observe_ref(s, "api", customer, None, region)
    row = insert(
        s,
        channel="store" if store else "web",
        currency=cur,
        lines=lines,
        status=kind,
        customer=customer,
        golden_id=golden_id,
        location=store,
        source=source,
    )
    follow = journal.append(s, row, "created", key=f"{row.code}:created", status=kind)
    if kind != "active":
        follow += journal.append(s, row, kind, key=f"{row.code}:{kind}")
    return row, follow


def by_source(s: Session, connection: str, source_id: str) -> BasketRow | None:
    return s.scalar(
        select(BasketRow).where(
            BasketRow.source_connection == connection, BasketRow.source_id == source_id
        )
    )


def get(s: Session, code: str) -> BasketRow:
    """The basket a code names (as typed: dashes, case, O/0 and I/1 forgiven)."""
    stored = codes.normalise(code)
    row = s.scalar(select(BasketRow).where(BasketRow.code == stored))
    if row is None:
        raise NotFound(f"no basket {codes.display(stored)}")
    return row


# --- at a store: re-priced with its list, checked against its stock --------------------


@dataclass(frozen=True)
class StoreLine:
    sku: str
    quantity: Decimal
    basket_price: Money | None
    store_price: Money | None
    price_list: str | None
    available: Decimal
    on_hand: Decimal
    reserved: Decimal

    @property
    def price_difference(self) -> Decimal | None:
        if self.basket_price is None or self.store_price is None:
            return None
        if self.basket_price.currency != self.store_price.currency:
            return None
        return self.store_price.amount - self.basket_price.amount

    @property
    def short_by(self) -> Decimal:
        return max(self.quantity - max(self.available, Decimal(0)), Decimal(0))

    def as_json(self) -> dict[str, Any]:
        def money(m: Money | None) -> dict[str, str] | None:
            return None if m is None else {"amount": format(m.amount, "f"), "currency": m.currency}

        diff = self.price_difference
        notes = []
        if self.store_price is None:
            notes.append("no store price: the till's own price applies")
        elif diff:
            notes.append(f"store price differs by {format(diff, 'f')}")
        if self.short_by:
            notes.append(f"short by {format(self.short_by, 'f')} in this store")
        return {
            "sku": self.sku,
            "quantity": format(self.quantity, "f"),
            "basket_price": money(self.basket_price),
            "store_price": money(self.store_price),
            "price_list": self.price_list,
            "price_difference": None if diff is None else format(diff, "f"),
            "on_hand": format(self.on_hand, "f"),
            "reserved": format(self.reserved, "f"),
            "available": format(self.available, "f"),
            "short_by": format(self.short_by, "f"),
            "notes": notes,
        }


def at_store(s: Session, plan: MappingPlan, row: BasketRow, store: str) -> list[StoreLine]:
    """Each line with the store's shelf price (its price list through the mapping's
    fallbacks, from the price referential) and the store's stock from the ledger (on hand
    minus reservations). Prices are compared as the referential holds them."""
    if store not in {loc.code for loc in plan.spec.locations}:
        raise DataError(f"unknown store {store!r}: not a location of the mapping")
    lines = lines_of(row)
    skus = sorted({line.sku for line in lines})
    prices: dict[str, dict[str, tuple[Decimal, str]]] = {}
    for price in s.scalars(select(PriceRow).where(PriceRow.sku.in_(skus))):
        prices.setdefault(price.sku, {})[price.price_list] = (Decimal(price.amount), price.currency)
    levels = ledger.levels(s, [(sku, store) for sku in skus])
    out = []
    for line in lines:
        lists = prices.get(line.sku, {})
        found = plan.prices.store_price(store, line.sku, {k: v[0] for k, v in lists.items()})
        store_price = None
        used = None
        if found is not None:
            used, amount = found
            store_price = Money(amount=amount, currency=lists[used][1])
        level = levels[(line.sku, store)]
        out.append(
            StoreLine(
                sku=line.sku,
                quantity=line.quantity,
                basket_price=line.unit_price,
                store_price=store_price,
                price_list=used,
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=level.on_hand - level.reserved,
            )
        )
    return out


# --- handoff to another platform ---------------------------------------------------------


def handoff(
    s: Session,
    plan: MappingPlan,
    row: BasketRow,
    connection: str,
    *,
    store: str | None = None,
    note: str = "",
) -> tuple[BasketHandoffRow, int | None, Followups]:
    """Queue opening ``row`` on ``connection``; returns the handoff, the outbox row to send
    (None when it was queued before) and the journal's follow-ups."""
    if row.status in journal.TERMINAL:
        raise DataError(f"basket {codes.display(row.code)} is {row.status}: nothing to hand over")
    location = store or row.location
    native_location = None
    if location is not None:
        native_location = plan.location_out(connection, location)
        if store is not None and native_location is None:
            raise DataError(
                f"store {store!r} has no id on {connection}: add it under its location's ids "
                f"in {plan.source}"
            )
    existing = s.scalar(
        select(BasketHandoffRow).where(
            BasketHandoffRow.basket_id == row.id, BasketHandoffRow.connection == connection
        )
    )
    if existing is not None and existing.status in ("pending", "open"):
        return existing, None, []
    customer = CustomerRef.model_validate_json(row.customer) if row.customer else None
    write = BasketWrite(
        code=row.code,
        action="open",
        currency=row.currency,
        lines=tuple(
            line.model_copy(update={"sku": plan.sku_out(connection, line.sku)})
            for line in lines_of(row)
        ),
        customer=customer,
        location=native_location,
        external_id=existing.external_id if existing is not None else None,
        note=note or f"Brique basket {codes.display(row.code)}",
    )
    handoff_row = existing or BasketHandoffRow(basket_id=row.id, connection=connection)
    handoff_row.status, handoff_row.location, handoff_row.error = "pending", location, None
    handoff_row.updated_at = datetime.now(UTC)
    s.add(handoff_row)
    s.flush()
    # A basket re-opened after a refusal is a new write: number the opens.
    prefix = f"basket:{row.code}:{connection}:open:"
    serial = s.scalar(
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.idempotency_key.startswith(prefix))
    )
    outbox = _queue(s, plan, row, connection, write, f"{prefix}{serial}")
    handoff_row.outbox_id = outbox.id
    if location and row.location is None:
        row.location = location
    follow = journal.append(
        s,
        row,
        "transferred",
        key=f"{row.code}:transferred:{connection}:{outbox.id}",
        status="transferred",
        detail={"to": connection, "store": location},
    )
    return handoff_row, outbox.id, follow


def close_writes(s: Session, plan: MappingPlan, row: BasketRow, but: str | None) -> list[int]:
    """Queue closing every platform basket opened for ``row`` except on ``but`` (where it
    was converted). Returns the outbox rows to send."""
    queued = []
    for handoff_row in s.scalars(
        select(BasketHandoffRow).where(
            BasketHandoffRow.basket_id == row.id, BasketHandoffRow.status.in_(("pending", "open"))
        )
    ):
        if handoff_row.connection == but:
            handoff_row.status = "closed"
            continue
        queued.append(_close(s, plan, row, handoff_row.connection, handoff_row.external_id))
        handoff_row.status = "closing"
    return queued


def close_source(s: Session, plan: MappingPlan, row: BasketRow) -> int | None:
    """Queue closing the platform basket ``row`` was read from (a web cart finished at a
    till): the shop then shows it as done instead of sending its own reminders."""
    if row.source_connection is None or row.source_connection == "api":
        return None
    return _close(s, plan, row, row.source_connection, row.source_id)


def _close(
    s: Session, plan: MappingPlan, row: BasketRow, connection: str, external_id: str | None
) -> int:
    key = f"basket:{row.code}:{connection}:close"
    found = s.scalar(select(OutboxRow.id).where(OutboxRow.idempotency_key == key))
    if found is not None:
        return found
    write = BasketWrite(
        code=row.code,
        action="close",
        currency=row.currency,
        external_id=external_id,
        note=f"converted: {row.converted_ref or row.status}",
    )
    return _queue(s, plan, row, connection, write, key).id


def _queue(
    s: Session, plan: MappingPlan, row: BasketRow, connection: str, write: BasketWrite, key: str
) -> OutboxRow:
    """One ``baskets`` outbox row carrying ``write``, durable before anything is sent."""
    outbox = OutboxRow(
        connection=connection,
        sink="baskets",
        idempotency_key=key,
        reference=f"Basket/{codes.display(row.code)}",
        payload=json.dumps({"items": [write.model_dump(mode="json")]}),
        status="pending",
        mapping_version=plan.version,
    )
    s.add(outbox)
    s.flush()
    return outbox


def check_target(capabilities: Any, connection: str) -> None:
    from bridge.connector import Capability

    if Capability.WRITE_BASKETS not in capabilities:
        raise ConfigError(f"connection {connection!r} cannot open baskets (no write_baskets)")
