"""treatment_session.external_id: the id a session had in the system it was imported from

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:40:00

``scheduler import sessions`` matches rows by this column, so importing the same file twice
changes nothing. A unique index; NULL for sessions booked here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("treatment_session", sa.Column("external_id", sa.String(length=100), nullable=True))
    op.create_index("ix_treatment_session_external_id", "treatment_session", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_treatment_session_external_id", table_name="treatment_session")
    with op.batch_alter_table("treatment_session", schema=None) as batch_op:
        batch_op.drop_column("external_id")
