"""events and baskets (placeholder: filled by the change that needs it)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:40:00
"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
