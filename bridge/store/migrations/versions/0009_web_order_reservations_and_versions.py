"""web order reservations and versions: sale_versions, web_orders, order_holds,
hold_publications, sales.version

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 18:40:00

Written by hand (see bridge/orders/tables.py). Web orders journaled before this revision
get their version 1 in ``sale_versions`` from their ``sales`` row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))

    op.create_table(
        "sale_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("sale_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("previous_status", sa.String(length=20), nullable=True),
        sa.Column("fulfilled", sa.Boolean(), nullable=False),
        sa.Column("store", sa.String(length=255), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("inbox_id", ID, nullable=True),
        sa.Column("recorded_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sales.id"], name=op.f("fk_sale_versions_sale_id_sales")
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inbox.id"], name=op.f("fk_sale_versions_inbox_id_inbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_versions")),
        sa.UniqueConstraint("sale_id", "version", name="uq_sale_versions_version"),
    )
    with op.batch_alter_table("sale_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sale_versions_inbox_id"), ["inbox_id"], unique=False)

    op.create_table(
        "web_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("order_key", sa.String(length=255), nullable=False),
        sa.Column("order_number", sa.String(length=255), nullable=False),
        sa.Column("sale_id", ID, nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sales.id"], name=op.f("fk_web_orders_sale_id_sales")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_orders")),
        sa.UniqueConstraint("connection", "order_key", name="uq_web_orders_key"),
    )
    with op.batch_alter_table("web_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_orders_sale_id"), ["sale_id"], unique=False)

    op.create_table(
        "order_holds",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("line_no", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("held_e4", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["web_orders.id"], name=op.f("fk_order_holds_order_id_web_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_holds")),
        sa.UniqueConstraint("order_id", "line_no", "sku", "location", name="uq_order_holds_line"),
    )
    with op.batch_alter_table("order_holds", schema=None) as batch_op:
        batch_op.create_index("ix_order_holds_location", ["location"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_holds_order_id"), ["order_id"], unique=False)

    op.create_table(
        "hold_publications",
        sa.Column("id", ID, nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("hold_id", ID, nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=False),
        sa.Column("published_e4", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("published_at", STAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["order_holds.id"], name=op.f("fk_hold_publications_hold_id_order_holds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold_publications")),
        sa.UniqueConstraint("connection", "hold_id", name="uq_hold_publications_key"),
    )
    with op.batch_alter_table("hold_publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hold_publications_hold_id"), ["hold_id"], unique=False)

    # Web orders journaled before: their journal row is their first version.
    op.execute(
        "INSERT INTO sale_versions (sale_id, version, status, previous_status, fulfilled, "
        "content_hash, payload, inbox_id, recorded_at) "
        "SELECT id, 1, status, NULL, FALSE, content_hash, payload, inbox_id, recorded_at "
        "FROM sales WHERE channel = 'web'"
    )


def downgrade() -> None:
    with op.batch_alter_table("hold_publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hold_publications_hold_id"))
    op.drop_table("hold_publications")
    with op.batch_alter_table("order_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_holds_order_id"))
        batch_op.drop_index("ix_order_holds_location")
    op.drop_table("order_holds")
    with op.batch_alter_table("web_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_orders_sale_id"))
    op.drop_table("web_orders")
    with op.batch_alter_table("sale_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sale_versions_inbox_id"))
    op.drop_table("sale_versions")
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.drop_column("version")
