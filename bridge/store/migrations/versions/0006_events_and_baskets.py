"""events and baskets: business events with their deliveries, baskets with handoffs,
lifecycle journal and store purchases (abandoned-cart guard)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_key", sa.String(length=400), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("event_key", name="uq_events_key"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_subject", ["subject", "id"], unique=False)
        batch_op.create_index("ix_events_topic", ["topic", "id"], unique=False)

    op.create_table(
        "baskets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("source_connection", sa.String(length=100), nullable=True),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=True),
        sa.Column("golden_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("platform_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_ref", sa.String(length=400), nullable=True),
        sa.Column("bought_in_store_ref", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["customers.id"], name=op.f("fk_baskets_golden_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baskets")),
        sa.UniqueConstraint("code", name="uq_baskets_code"),
        sa.UniqueConstraint("source_connection", "source_id", name="uq_baskets_source"),
    )
    with op.batch_alter_table("baskets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_baskets_golden_id"), ["golden_id"], unique=False)
        batch_op.create_index(
            "ix_baskets_status_activity", ["status", "last_activity_at"], unique=False
        )

    op.create_table(
        "event_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subscriber", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_deliveries_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_deliveries")),
        sa.UniqueConstraint("event_id", "subscriber", name="uq_event_deliveries_pair"),
    )
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_deliveries_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            "ix_event_deliveries_status", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "store_purchases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "golden_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("quantity_e4", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("ticket_key", sa.String(length=255), nullable=False),
        sa.Column("line_no", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["customers.id"], name=op.f("fk_store_purchases_golden_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_purchases")),
        sa.UniqueConstraint("connection", "ticket_key", "line_no", name="uq_store_purchases_line"),
    )
    with op.batch_alter_table("store_purchases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_store_purchases_customer", ["golden_id", "sku", "at"], unique=False
        )

    op.create_table(
        "basket_handoffs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "basket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["basket_id"], ["baskets.id"], name=op.f("fk_basket_handoffs_basket_id_baskets")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_basket_handoffs_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basket_handoffs")),
        sa.UniqueConstraint("basket_id", "connection", name="uq_basket_handoffs_pair"),
    )
    with op.batch_alter_table("basket_handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_basket_handoffs_basket_id"), ["basket_id"], unique=False
        )

    op.create_table(
        "basket_journal",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_key", sa.String(length=400), nullable=False),
        sa.Column(
            "basket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("golden_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["basket_id"], ["baskets.id"], name=op.f("fk_basket_journal_basket_id_baskets")
        ),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["customers.id"], name=op.f("fk_basket_journal_golden_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basket_journal")),
        sa.UniqueConstraint("entry_key", name="uq_basket_journal_key"),
    )
    with op.batch_alter_table("basket_journal", schema=None) as batch_op:
        batch_op.create_index("ix_basket_journal_basket", ["basket_id", "id"], unique=False)
        batch_op.create_index("ix_basket_journal_customer", ["golden_id", "id"], unique=False)

    op.create_table(
        "event_delivery_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["event_deliveries.id"],
            name=op.f("fk_event_delivery_attempts_delivery_id_event_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_delivery_attempts")),
    )
    with op.batch_alter_table("event_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_delivery_attempts_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_delivery_attempts_delivery_id"))

    op.drop_table("event_delivery_attempts")
    with op.batch_alter_table("basket_journal", schema=None) as batch_op:
        batch_op.drop_index("ix_basket_journal_customer")
        batch_op.drop_index("ix_basket_journal_basket")

    op.drop_table("basket_journal")
    with op.batch_alter_table("basket_handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_basket_handoffs_basket_id"))

    op.drop_table("basket_handoffs")
    with op.batch_alter_table("store_purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_store_purchases_customer")

    op.drop_table("store_purchases")
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_event_deliveries_status")
        batch_op.drop_index(batch_op.f("ix_event_deliveries_event_id"))

    op.drop_table("event_deliveries")
    with op.batch_alter_table("baskets", schema=None) as batch_op:
        batch_op.drop_index("ix_baskets_status_activity")
        batch_op.drop_index(batch_op.f("ix_baskets_golden_id"))

    op.drop_table("baskets")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_topic")
        batch_op.drop_index("ix_events_subject")

    op.drop_table("events")
