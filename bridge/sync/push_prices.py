"""Publish prices to shops: the referential, through the mapping, written only when changed.

A price entering Brique (a price list import, a connector's price record) updates the
referential and marks the SKU stale for every shop channel. A push computes each stale
SKU's channel price (list, tax, rounding, ending) and its native fields, and compares their
fingerprint with what was last written: an unchanged result is dropped, not sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.connector import PriceWrite, WriteResult
from bridge.errors import DataError
from bridge.mapping.plan import MappingPlan
from bridge.mapping.pricing import ChannelPrice
from bridge.mapping.rules import fingerprint, jsonable
from bridge.model import Money, PriceEntry
from bridge.model.base import Record
from bridge.store.tables import ConnectionState, OutboxRow, PricePublication, PriceRow
from bridge.store.upsert import insert_ignore
from bridge.sync import deadletters, outbox, publications
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 100


def record_prices(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    entries: Iterable[PriceEntry],
    source_ref: str | None = None,
    followups: list[tuple[str, tuple[object, ...]]] | None = None,
) -> set[str]:
    """Store prices in the referential; returns the shops that now have stale prices.

    An entry equal to what is stored changes nothing (a replayed import is a no-op).
    ``followups`` receives the price parity check of the changed SKUs, to dispatch after
    the commit.
    """
    changed: set[str] = set()
    now = datetime.now(UTC)
    for entry in entries:
        check_entry(plan, entry)
        price = entry.price
        amount = format(price.amount, "f")
        row = s.scalar(
            select(PriceRow).where(
                PriceRow.sku == entry.sku, PriceRow.price_list == entry.price_list
            )
        )
        if row is None:
            created = insert_ignore(
                s,
                PriceRow,
                {
                    "sku": entry.sku,
                    "price_list": entry.price_list,
                    "amount": amount,
                    "currency": price.currency,
                    "tax_included": price.tax_included,
                    "source_ref": source_ref,
                    "mapping_version": plan.version,
                    "updated_at": now,
                },
                ("sku", "price_list"),
            )
            if created is None:  # another transaction stored it meanwhile
                row = s.scalar(
                    select(PriceRow).where(
                        PriceRow.sku == entry.sku, PriceRow.price_list == entry.price_list
                    )
                )
        if row is not None:
            if Decimal(row.amount) == price.amount and row.currency == price.currency:
                continue
            row.amount, row.currency, row.updated_at = amount, price.currency, now
            row.source_ref, row.mapping_version = source_ref, plan.version
        changed.add(entry.sku)
    if followups is not None:
        from bridge.parity.triggers import after_price_change

        followups.extend(after_price_change(plan, changed))
    return mark_prices_dirty(s, plan, shops, changed, source_ref)


def check_entry(plan: MappingPlan, entry: PriceEntry) -> None:
    """Refuse a price the referential cannot hold: another currency, or the other tax
    convention than ``prices.tax_included`` says."""
    book, price = plan.prices, entry.price
    if book.currency is not None and price.currency != book.currency:
        raise DataError(
            f"price of {entry.sku!r} is in {price.currency}, the mapping's prices are in "
            f"{book.currency}",
            record=entry.sku,
        )
    if price.tax_included != book.tax_included:
        want = "including" if book.tax_included else "excluding"
        raise DataError(
            f"price of {entry.sku!r} does not match prices.tax_included: the mapping expects "
            f"prices {want} tax",
            record=entry.sku,
        )


def mark_prices_dirty(
    s: Session,
    plan: MappingPlan,
    shops: Sequence[str],
    skus: Iterable[str],
    source_ref: str | None = None,
) -> set[str]:
    """Flag SKUs stale for every shop with a price channel (one UPDATE per SKU and shop)."""
    channels = [shop for shop in shops if shop in plan.prices.channels]
    skus = sorted(set(skus))
    now = datetime.now(UTC)
    touched = set()
    for shop in channels:
        for sku in skus:
            key = {"connection": shop, "sku": sku}
            publications.mark_stale(s, PricePublication, key, source_ref, now)
        if skus:
            touched.add(shop)
    return touched


def refresh_if_mapping_changed(rt: Runtime) -> list[str]:
    """Re-evaluate every price of a shop whose prices were computed by another mapping
    version; change detection then writes only the prices the new rules really move."""
    plan = rt.mapping.plan
    queued = []
    for shop in rt.shop_connections():
        if shop not in plan.prices.channels:
            continue
        with rt.transaction() as s:
            state = s.get(ConnectionState, shop)
            if state is not None and state.prices_mapping_version == plan.version:
                continue
            if state is None:
                state = ConnectionState(name=shop, status="ok")
                s.add(state)
            state.prices_mapping_version = plan.version
            skus = s.scalars(select(PriceRow.sku).distinct()).all()
            if mark_prices_dirty(s, plan, [shop], skus, f"Mapping/{plan.version}"):
                queued.append(shop)
    for shop in queued:
        rt.dispatcher.push_prices(shop)
    return queued


def batch_limit(rt: Runtime, connection: str) -> int:
    return int(rt.connector(connection).info.batch_limits.get("prices", DEFAULT_BATCH))


def claim(rt: Runtime, connection: str) -> tuple[int | None, int]:
    """Claim up to one batch of stale prices into an outbox row.

    Returns (outbox id or None, number of stale SKUs dropped because nothing changed).
    """
    plan = rt.mapping.plan
    limit = batch_limit(rt, connection)
    unchanged = 0
    while True:
        with rt.transaction() as s:
            if outbox.stopped(s, connection):
                return None, unchanged
            pubs = publications.claim_stale(s, PricePublication, connection, limit)
            if not pubs:
                return None, unchanged
            prices: dict[str, dict[str, Decimal]] = {}
            for row in s.scalars(select(PriceRow).where(PriceRow.sku.in_([p.sku for p in pubs]))):
                prices.setdefault(row.sku, {})[row.price_list] = Decimal(row.amount)
            items = []
            build = plan.price_fields(connection)
            for pub in pubs:
                item = _item(s, plan, connection, pub, prices.get(pub.sku, {}), build)
                if item is None:
                    pub.dirty = False
                    unchanged += 1
                else:
                    items.append(item)
            if items:
                return _outbox(s, plan, connection, items), unchanged
        # every SKU of this batch was unchanged: look at the next one


def _item(
    s: Session,
    plan: MappingPlan,
    connection: str,
    pub: PricePublication,
    prices: dict[str, Decimal],
    build: Callable[[ChannelPrice], dict[str, Any]] | None,
) -> dict[str, Any] | None:
    """The outbox item for one stale SKU, or None when there is nothing new to write."""
    try:
        computed = plan.prices.channel_price(connection, pub.sku, prices)
        if computed is None:
            return None
        fields = {} if build is None else build(computed)
    except DataError as exc:
        deadletters.record(
            s, connection=connection, stage="prices", error=exc, record=pub.sku,
            payload=json.dumps({k: format(v, "f") for k, v in prices.items()}),
        )  # fmt: skip
        return None
    print_ = fingerprint(
        {"price": computed.price, "compare_at": computed.compare_at, "fields": fields}
    )
    if print_ == pub.fingerprint:
        return None
    return {
        "pub": pub.id,
        "version": pub.version,
        "sku": pub.sku,
        "price": format(computed.price, "f"),
        "compare_at": None if computed.compare_at is None else format(computed.compare_at, "f"),
        "currency": computed.currency,
        "fields": jsonable(fields),
        "fingerprint": print_,
    }


def _outbox(s: Session, plan: MappingPlan, connection: str, items: list[dict[str, Any]]) -> int:
    body = json.dumps({"items": items}, sort_keys=True)
    key = f"{connection}:prices:" + hashlib.sha256(body.encode()).hexdigest()[:32]
    out = OutboxRow(
        connection=connection,
        sink=PRICES.name,
        idempotency_key=key,
        payload=body,
        status="pending",
        mapping_version=plan.version,
    )
    s.add(out)
    s.flush()
    out.reference = f"PricePush/{out.id}"
    s.execute(
        update(PricePublication)
        .where(PricePublication.id.in_([i["pub"] for i in items]))
        .values(claimed_by=out.id)
    )
    return out.id


def push(rt: Runtime, connection: str, max_batches: int = 50) -> list[int]:
    """Send what a failed try left pending, then claim and send batches until no price is
    stale (or ``max_batches`` is reached, and another push is queued)."""
    return outbox.drain(rt, connection, PRICES, lambda r, c: claim(r, c)[0], max_batches)


class PriceSink:
    """Absolute prices per SKU: a repeat is harmless, so no compare-and-set is needed."""

    name = "prices"

    def writes(self, items: Sequence[dict[str, Any]]) -> list[Record]:
        return [
            PriceWrite(
                sku=i["sku"],
                price=Money(amount=Decimal(i["price"]), currency=i["currency"]),
                compare_at=None
                if i["compare_at"] is None
                else Money(amount=Decimal(i["compare_at"]), currency=i["currency"]),
                fields=i["fields"],
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
            if item["sku"] in result.failed:
                if publications.unclaim(s, PricePublication, outbox_id, item):
                    deadletters.record(
                        s,
                        connection=connection,
                        stage="prices",
                        error=DataError(result.failed[item["sku"]]),
                        ref_id=outbox_id,
                        record=item["sku"],
                        payload=json.dumps(item),
                    )
            else:
                publications.unclaim(
                    s,
                    PricePublication,
                    outbox_id,
                    item,
                    fingerprint=item["fingerprint"],
                    published=json.dumps(
                        {"price": item["price"], "compare_at": item["compare_at"], **item["fields"]}
                    ),
                    published_at=now,
                )
        return False  # prices have no compare-and-set: nothing comes back stale

    def requeue(self, rt: Runtime, connection: str) -> None:
        rt.dispatcher.push_prices(connection)

    def release(self, s: Session, outbox_id: int, items: Sequence[dict[str, Any]]) -> None:
        for item in items:
            publications.unclaim(s, PricePublication, outbox_id, item)


PRICES = PriceSink()
