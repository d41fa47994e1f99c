"""Outbound business events and their deliveries to subscribers (signed webhooks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.tables import Base, Id, Stamp, utcnow


class EventRow(Base):
    """A business event (``basket.abandoned``, ``price.divergence``...), append-only.

    ``event_key`` is what makes emitting idempotent: the use-case that emits derives it from
    the ids that caused the event, so a replay finds the row and emits nothing twice.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("event_key", name="uq_events_key"),
        Index("ix_events_subject", "subject", "id"),
        Index("ix_events_topic", "topic", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(400))
    topic: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(255))
    """What the event is about, as ``kind/id`` (``basket/K7M-4QX``, ``customer/12``)."""
    payload: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class DeliveryRow(Base):
    """One event to one subscriber: pending -> delivered | dead (retried per attempt)."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber", name="uq_event_deliveries_pair"),
        Index("ix_event_deliveries_status", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    subscriber: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Stamp, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class DeliveryAttemptRow(Base):
    """One HTTP try of a delivery: when, the answer's status code, what went wrong."""

    __tablename__ = "event_delivery_attempts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("event_deliveries.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20), default="started")
    """started -> delivered | retry | dead."""
    detail: Mapped[str | None] = mapped_column(Text)
