"""Which golden customer a basket or a sale belongs to, without creating one.

A cart carrying an e-mail, a phone, a card or an account id is an observation of that
customer like a sale is (``bridge.customers``): it finds or makes the golden record, so a
store sale made with the same e-mail later lands on the same person. A cart nobody can
identify stays anonymous. Merges are followed both ways: a basket filed under a record
later merged into another belongs to the winner, and an undo gives it back.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.customers import IdentityError, observe
from bridge.customers.model import ObservedCustomer, channel_key, normalise
from bridge.customers.views import observed_from_ref
from bridge.errors import DataError
from bridge.model import CustomerRef
from bridge.store.tables import Customer, CustomerKey

log = structlog.get_logger(__name__)


def keys_of(connection: str, ref: CustomerRef, region: str | None = None) -> list[tuple[str, str]]:
    """The strong keys a reference carries, normalised as identity stores them."""
    try:
        probe = ObservedCustomer(
            source=connection,
            source_id=ref.customer_id or "?",
            loyalty_card=ref.loyalty_card,
            email=ref.email,
            phone=ref.phone,
            channel_ids=ref.channel_ids,
        )
    except ValueError:
        return []
    norm = normalise(probe, region)
    keys = list(norm.keys)
    if ref.customer_id:
        keys.append(("channel", channel_key(connection, ref.customer_id)))
    return keys


def resolve(
    s: Session, connection: str, ref: CustomerRef | None, region: str | None = None
) -> int | None:
    """The active golden record holding one of the reference's keys, or None."""
    if ref is None:
        return None
    keys = keys_of(connection, ref, region)
    for kind, value in keys:
        found = s.scalar(
            select(CustomerKey.golden_id).where(
                CustomerKey.kind == kind, CustomerKey.value == value
            )
        )
        if found is not None:
            return active(s, found)
    return None


def observe_ref(
    s: Session,
    connection: str,
    ref: CustomerRef | None,
    at: datetime | None,
    region: str | None = None,
) -> int | None:
    """The golden record of a basket's customer, observing it; None when the reference
    holds no usable key. Identity problems are logged, never lose the basket."""
    if ref is None:
        return None
    try:
        found = observed_from_ref(connection, ref, at, region)
    except ValueError as exc:
        log.info("basket_customer_not_observed", connection=connection, error=str(exc))
        return resolve(s, connection, ref, region)
    if found.record is None:
        return resolve(s, connection, ref, region)
    try:
        with s.begin_nested():
            return active(s, observe(s, found.record, region=region))
    except (DataError, IdentityError) as exc:
        log.info("basket_customer_not_observed", connection=connection, error=str(exc))
        return resolve(s, connection, ref, region)


def active(s: Session, golden_id: int) -> int:
    """Follow ``merged_into`` to the record in use now."""
    seen: set[int] = set()
    current = golden_id
    while current not in seen:
        seen.add(current)
        winner = s.scalar(select(Customer.merged_into).where(Customer.id == current))
        if winner is None:
            return current
        current = winner
    return current


def members(s: Session, golden_id: int) -> set[int]:
    """``golden_id`` (made active) and every record merged into it, directly or not."""
    root = active(s, golden_id)
    found = {root}
    frontier = {root}
    while frontier:
        merged = set(s.scalars(select(Customer.id).where(Customer.merged_into.in_(frontier))))
        frontier = merged - found
        found |= frontier
    return found
