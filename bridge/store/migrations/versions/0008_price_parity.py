"""price parity: divergences, till prices from the journal, the watchdog's state

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "price_divergences",
        sa.Column("id", ID, nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("member", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("observed", sa.String(length=40), nullable=True),
        sa.Column("expected", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("prices", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_seen", STAMP, nullable=False),
        sa.Column("last_seen", STAMP, nullable=False),
        sa.Column("resolved_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_divergences")),
        sa.UniqueConstraint("sku", "rule", "member", name="uq_price_divergences_key"),
    )
    op.create_index("ix_price_divergences_status", "price_divergences", ["status", "sku"])

    op.create_table(
        "price_till_observations",
        sa.Column("id", ID, nullable=False),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("ticket_key", sa.String(length=255), nullable=False),
        sa.Column("sale_id", sa.BigInteger(), nullable=False),
        sa.Column("rung_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_till_observations")),
        sa.UniqueConstraint("location", "sku", name="uq_price_till_observations_key"),
    )
    op.create_index(
        "ix_price_till_observations_sku", "price_till_observations", ["sku"], unique=False
    )

    op.create_table(
        "price_parity_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("sales_cursor", sa.BigInteger(), nullable=True),
        sa.Column("scan_requested_at", STAMP, nullable=True),
        sa.Column("scan_finished_at", STAMP, nullable=True),
        sa.Column("skus_scanned", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_price_parity_state")),
    )


def downgrade() -> None:
    op.drop_table("price_parity_state")
    op.drop_index("ix_price_till_observations_sku", table_name="price_till_observations")
    op.drop_table("price_till_observations")
    op.drop_index("ix_price_divergences_status", table_name="price_divergences")
    op.drop_table("price_divergences")
