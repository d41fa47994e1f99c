"""loyalty ledger: points entries, publications, what each account was sent, merges seen

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loyalty_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("entry_key", sa.String(length=400), nullable=False),
        sa.Column("golden_id", ID, nullable=False),
        sa.Column("record_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("points_e4", sa.BigInteger(), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=True),
        sa.Column("ticket_key", sa.String(length=255), nullable=True),
        sa.Column("line_no", sa.String(length=255), nullable=True),
        sa.Column("quantity_e4", sa.BigInteger(), nullable=True),
        sa.Column("link_key", sa.String(length=600), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("mapping_version", sa.String(length=32), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["customers.id"], name=op.f("fk_loyalty_entries_golden_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customer_records.id"],
            name=op.f("fk_loyalty_entries_record_id_customer_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_entries")),
        sa.UniqueConstraint("entry_key", name="uq_loyalty_entries_key"),
    )
    with op.batch_alter_table("loyalty_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loyalty_entries_golden_id"), ["golden_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_loyalty_entries_record_id"), ["record_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_loyalty_entries_link_key"), ["link_key"], unique=False)
        batch_op.create_index(
            "ix_loyalty_entries_ticket", ["connection", "ticket_key", "line_no"], unique=False
        )

    op.create_table(
        "loyalty_publications",
        sa.Column("id", ID, nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("golden_id", ID, nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dirty_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("source_ref", sa.String(length=400), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["golden_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_publications_golden_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_publications")),
        sa.UniqueConstraint("connection", "golden_id", name="uq_loyalty_publications_key"),
    )
    with op.batch_alter_table("loyalty_publications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_publications_dirty", ["connection", "dirty"], unique=False
        )

    op.create_table(
        "loyalty_published",
        sa.Column("id", ID, nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("golden_id", ID, nullable=False),
        sa.Column("balance_e4", sa.BigInteger(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["golden_id"], ["customers.id"], name=op.f("fk_loyalty_published_golden_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_published")),
        sa.UniqueConstraint("connection", "external_id", name="uq_loyalty_published_key"),
    )

    op.create_table(
        "loyalty_merges_seen",
        sa.Column("merge_id", ID, nullable=False),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merge_id"],
            ["customer_merges.id"],
            name=op.f("fk_loyalty_merges_seen_merge_id_customer_merges"),
        ),
        sa.PrimaryKeyConstraint("merge_id", name=op.f("pk_loyalty_merges_seen")),
    )


def downgrade() -> None:
    op.drop_table("loyalty_merges_seen")
    op.drop_table("loyalty_published")
    with op.batch_alter_table("loyalty_publications", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_publications_dirty")
    op.drop_table("loyalty_publications")
    with op.batch_alter_table("loyalty_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_entries_ticket")
        batch_op.drop_index(batch_op.f("ix_loyalty_entries_link_key"))
        batch_op.drop_index(batch_op.f("ix_loyalty_entries_record_id"))
        batch_op.drop_index(batch_op.f("ix_loyalty_entries_golden_id"))
    op.drop_table("loyalty_entries")
