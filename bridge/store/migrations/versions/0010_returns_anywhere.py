"""returns anywhere: web orders a till can name, store returns linked to them

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "return_web_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("ticket_key", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("number", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_included", sa.Boolean(), nullable=True),
        sa.Column("sale_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_web_orders")),
        sa.UniqueConstraint("connection", "ticket_key", name="uq_return_web_orders_ticket"),
    )
    op.create_table(
        "return_web_order_aliases",
        sa.Column("id", ID, nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["return_web_orders.id"],
            name=op.f("fk_return_web_order_aliases_order_id_return_web_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_web_order_aliases")),
        sa.UniqueConstraint("alias", "order_id", name="uq_return_web_order_aliases_alias"),
    )
    with op.batch_alter_table("return_web_order_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_return_web_order_aliases_order_id"), ["order_id"], unique=False
        )
    op.create_table(
        "return_web_order_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("line_no", sa.String(length=255), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("quantity_e4", sa.BigInteger(), nullable=False),
        sa.Column("returned_e4", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.String(length=40), nullable=True),
        sa.Column("tax", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["return_web_orders.id"],
            name=op.f("fk_return_web_order_lines_order_id_return_web_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_web_order_lines")),
        sa.UniqueConstraint("order_id", "line_no", name="uq_return_web_order_lines_line"),
    )
    with op.batch_alter_table("return_web_order_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_return_web_order_lines_order_id"), ["order_id"], unique=False
        )
    op.create_table(
        "store_returns",
        sa.Column("id", ID, nullable=False),
        sa.Column("return_key", sa.String(length=400), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("ticket_key", sa.String(length=255), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", STAMP, nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("web_order_id", ID, nullable=True),
        sa.Column("paid", sa.String(length=40), nullable=True),
        sa.Column("refunded", sa.String(length=40), nullable=True),
        sa.Column("difference", sa.String(length=40), nullable=True),
        sa.Column("difference_status", sa.String(length=30), nullable=False),
        sa.Column("difference_cause", sa.Text(), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("shop_status", sa.String(length=20), nullable=False),
        sa.Column("shop_detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("matched_at", STAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["web_order_id"],
            ["return_web_orders.id"],
            name=op.f("fk_store_returns_web_order_id_return_web_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_returns")),
        sa.UniqueConstraint("return_key", name="uq_store_returns_key"),
    )
    with op.batch_alter_table("store_returns", schema=None) as batch_op:
        batch_op.create_index("ix_store_returns_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_store_returns_alias", ["alias"], unique=False)
    op.create_table(
        "store_return_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("return_id", ID, nullable=False),
        sa.Column("line_no", sa.String(length=255), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("quantity_e4", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=True),
        sa.Column("unit_price", sa.String(length=40), nullable=True),
        sa.Column("allocations", sa.Text(), nullable=True),
        sa.Column("paid", sa.String(length=40), nullable=True),
        sa.Column("refunded", sa.String(length=40), nullable=True),
        sa.Column("store_price", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["store_returns.id"],
            name=op.f("fk_store_return_lines_return_id_store_returns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_return_lines")),
        sa.UniqueConstraint("return_id", "line_no", name="uq_store_return_lines_line"),
    )
    with op.batch_alter_table("store_return_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_store_return_lines_return_id"), ["return_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("store_return_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_return_lines_return_id"))
    op.drop_table("store_return_lines")
    with op.batch_alter_table("store_returns", schema=None) as batch_op:
        batch_op.drop_index("ix_store_returns_alias")
        batch_op.drop_index("ix_store_returns_status")
    op.drop_table("store_returns")
    with op.batch_alter_table("return_web_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_web_order_lines_order_id"))
    op.drop_table("return_web_order_lines")
    with op.batch_alter_table("return_web_order_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_web_order_aliases_order_id"))
    op.drop_table("return_web_order_aliases")
    op.drop_table("return_web_orders")
