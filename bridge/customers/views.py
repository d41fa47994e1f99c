"""The identity core as sales, the CLI and the HTTP API use it.

* :func:`observed_from_sale` turns the :class:`~bridge.model.CustomerRef` a sale carries into
  an :class:`ObservedCustomer`: ``source`` is the connection; ``source_id`` is the ref's
  ``customer_id`` or, without one, a stable id made from its strongest *valid* key, in the
  core's order (``KINDS``): ``card:<loyalty card>``, ``email:<normalised e-mail>``,
  ``phone:<E.164>``, then ``channel:<connection>:<id>`` (the first, sorted). An id longer than
  255 characters is replaced by ``<kind>:sha256:<32 hex>``. The ref's ``name`` is split at
  its first space into first and last name (one word: a last name only).
* a ticket older than the customer's last observation on that connection arriving late
  (parallel workers, a replay) only fills the gaps of that observation (:func:`fill_gaps`).
* :func:`find` looks a golden record up by e-mail, phone or loyalty card, normalised exactly
  as observations are.
* ``*_json`` render views as plain JSON data: the CLI's ``--json`` and the HTTP routes share
  them, so both show the same golden record.
* ``show``, ``review``, ``merge_ids`` and ``undo_merge`` wrap the core and raise
  :class:`NotFound` for an id that does not exist (the CLI exits 2 on it, HTTP answers 404),
  leaving :class:`IdentityError` for requests the current state refuses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.customers.identity import (
    GoldenView,
    IdentityError,
    RecordView,
    ReviewView,
    golden,
    merge,
    resolve_review,
    undo,
)
from bridge.customers.model import ObservedCustomer, check_region, normalise
from bridge.model import CustomerRef, Sale
from bridge.store.tables import Customer, CustomerKey, CustomerMerge, CustomerReview

MAX_ID = 255
PREFIX = {"loyalty": "card", "email": "email", "phone": "phone", "channel": "channel"}


class NotFound(IdentityError):
    """No golden record, review or merge with that id."""


# --- from a sale ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FromSale:
    """What a sale's customer reference gives: a record to observe, or why there is none."""

    record: ObservedCustomer | None
    notes: tuple[str, ...] = ()


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    words = (name or "").split(maxsplit=1)
    if not words:
        return None, None
    if len(words) == 1:
        return None, words[0]
    return words[0], words[1]


def _stable_id(kind: str, value: str) -> str:
    ident = f"{PREFIX[kind]}:{value}"
    if len(ident) <= MAX_ID:
        return ident
    return f"{PREFIX[kind]}:sha256:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def sale_time(sale: Sale) -> datetime | None:
    """When the sale saw its customer, in UTC (SQLite keeps a stamp's wall time only):
    ``occurred_at`` (a naive one read as UTC), else midnight UTC of the business day."""
    at = sale.occurred_at
    if at is not None:
        return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    day = sale.key.business_day
    return None if day is None else datetime.combine(day, time(), UTC)


def fill_gaps(newer: ObservedCustomer, older: ObservedCustomer) -> ObservedCustomer:
    """``newer`` with the fields it lacks taken from ``older`` (a ticket arriving late), so
    the keys only the older one carried are still claimed; a value both have stays newer's."""
    gaps = {
        name: getattr(older, name)
        for name in type(newer).model_fields
        if getattr(newer, name) is None and name != "observed_at"
    }
    gaps = {name: value for name, value in gaps.items() if value is not None}
    channel_ids = older.channel_ids | newer.channel_ids
    return newer.model_copy(update={**gaps, "channel_ids": channel_ids})


def observed_from_sale(connection: str, sale: Sale, region: str | None = None) -> FromSale:
    """The observation a sale's customer reference makes (``region``: the store's, or None).

    Raises ``ValueError`` (pydantic's ``ValidationError`` included) on a ref the identity
    model refuses outright, e.g. a blank channel id; the caller keeps the sale regardless.
    """
    return observed_from_ref(connection, sale.customer, sale_time(sale), region)


def observed_from_ref(
    connection: str, ref: CustomerRef | None, at: datetime | None, region: str | None = None
) -> FromSale:
    """The observation a customer reference makes (a sale's, a cart's), seen at ``at``."""
    if ref is None:
        return FromSale(None)
    first, last = _split_name(ref.name)
    draft = ObservedCustomer(
        source=connection,
        source_id=ref.customer_id or "?",
        loyalty_card=ref.loyalty_card,
        email=ref.email,
        phone=ref.phone,
        first_name=first,
        last_name=last,
        channel_ids=ref.channel_ids,
        observed_at=at,
    )
    norm = normalise(draft, region)
    if ref.customer_id:
        return FromSale(draft, norm.notes)
    own = f"{connection}:?"
    candidates = [
        ("loyalty", norm.loyalty_card),
        ("email", norm.email),
        ("phone", norm.phone),
        *(("channel", c) for c in norm.channels if c != own),
    ]
    for kind, value in candidates:
        if value:
            return FromSale(draft.model_copy(update={"source_id": _stable_id(kind, value)}))
    why = "; ".join(norm.notes) or "no customer id, loyalty card, e-mail, phone or channel id"
    return FromSale(None, (f"customer not observed: {why}",))


# --- look-ups ---------------------------------------------------------------------------------


def _require(s: Session, table: Any, ident: int, what: str) -> None:
    if s.get(table, ident) is None:
        raise NotFound(f"no {what} {ident}")


def show(s: Session, golden_id: int) -> GoldenView:
    """The golden record ``golden_id`` stands for now (a merged id leads to its winner)."""
    _require(s, Customer, golden_id, "golden record")
    return golden(s, golden_id)


def find(
    s: Session,
    *,
    email: str | None = None,
    phone: str | None = None,
    card: str | None = None,
    region: str | None = None,
) -> list[GoldenView]:
    """Golden records holding the key given (exactly one of ``email``, ``phone``, ``card``).

    ``region`` reads a national phone number (``06 12 34 56 78`` with ``FR``). Raises
    ``ValueError`` for no key, several, an unknown region or a value that is no valid key.
    """
    given = {k: v for k, v in (("email", email), ("phone", phone), ("card", card)) if v}
    if len(given) != 1:
        raise ValueError("give exactly one of email, phone or card")
    where = check_region(region) if region else None
    probe = ObservedCustomer(
        source="find", source_id="find", email=email, phone=phone, loyalty_card=card
    )
    norm = normalise(probe, where)
    if norm.notes:
        raise ValueError("; ".join(norm.notes).replace(" key dropped", ""))
    name, text = next(iter(given.items()))
    kind, value = {
        "email": ("email", norm.email),
        "phone": ("phone", norm.phone),
        "card": ("loyalty", norm.loyalty_card),
    }[name]
    if value is None:
        raise ValueError(f"{name} {text!r} is not a valid key")
    ids = s.scalars(
        select(CustomerKey.golden_id)
        .where(CustomerKey.kind == kind)
        .where(CustomerKey.value == value)
    ).all()
    return [golden(s, gid) for gid in sorted(set(ids))]


def review(s: Session, review_id: int, accept: bool) -> int | None:
    """Accept (merge; the merge id, None if already one record) or reject a review."""
    _require(s, CustomerReview, review_id, "review")
    return resolve_review(s, review_id, accept)


def merge_ids(s: Session, winner: int, loser: int, reason: str) -> int:
    """Merge golden record ``loser`` into ``winner`` by hand; the merge id."""
    for gid in (winner, loser):
        _require(s, Customer, gid, "golden record")
    return merge(s, winner, loser, reason)


def undo_merge(s: Session, merge_id: int, cascade: bool = False) -> list[int]:
    """Undo a merge (and, with ``cascade``, the later ones depending on it)."""
    _require(s, CustomerMerge, merge_id, "merge")
    return undo(s, merge_id, cascade=cascade)


# --- JSON -------------------------------------------------------------------------------------


def _stamp(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def record_json(r: RecordView) -> dict[str, Any]:
    return {
        "id": r.id,
        "source": r.source,
        "source_id": r.source_id,
        "observed_at": _stamp(r.observed_at),
        "loyalty_card": r.loyalty_card,
        "email": r.email,
        "phone": r.phone,
        "first_name": r.first_name,
        "last_name": r.last_name,
        "postcode": r.postcode,
        "country": r.country,
        "notes": list(r.notes),
    }


def golden_json(view: GoldenView) -> dict[str, Any]:
    return {
        "id": view.id,
        "created_at": _stamp(view.created_at),
        "updated_at": _stamp(view.updated_at),
        "best": dict(view.best),
        "keys": [{"kind": k, "value": v} for k, v in view.keys],
        "records": [record_json(r) for r in view.records],
        "merged": list(view.merged),
    }


def review_json(r: ReviewView) -> dict[str, Any]:
    return {
        "id": r.id,
        "record_id": r.record_id,
        "source": r.source,
        "source_id": r.source_id,
        "golden_id": r.golden_id,
        "candidate_id": r.candidate_id,
        "reason": r.reason,
        "created_at": _stamp(r.created_at),
    }
