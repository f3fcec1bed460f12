"""clinic setup version: a stamp every write to a clinic's setup raises

Revision ID: 0012_setup
Revises: 0011_motor_threshold
Create Date: 2026-12-02 10:00:00

clinic.setup_version: processes cache a clinic's hours, closures, rooms and staff under it
(scheduler/services/setup_cache.py) and reload when it has moved.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_setup"
down_revision = "0011_motor_threshold"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("setup_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("setup_version")
