"""motor threshold

assessment.instrument may be 'motor_threshold' (the TMS resting motor threshold, percent of machine
output): the column widens from 6 to 15 characters and its CHECK constraint lists the new value.

Revision ID: 0011_motor_threshold
Revises: 0010_rems
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_motor_threshold"
down_revision = "0010_rems"
branch_labels = None
depends_on = None

OLD = ("Y-BOCS", "PHQ-9", "GAD-7", "PCL-5", "MADRS")
NEW = (*OLD, "motor_threshold")


def _retype(values: tuple[str, ...], previous: tuple[str, ...]) -> None:
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_assessment_instrument"), type_="check")
        batch_op.alter_column(
            "instrument",
            existing_type=sa.Enum(*previous, name="instrument", native_enum=False, create_constraint=False),
            type_=sa.Enum(*values, name="instrument", native_enum=False, create_constraint=False),
            existing_nullable=False,
        )
        batch_op.create_check_constraint("instrument", sa.column("instrument").in_(values))


def upgrade() -> None:
    _retype(NEW, OLD)


def downgrade() -> None:
    op.execute("DELETE FROM assessment WHERE instrument = 'motor_threshold'")
    _retype(OLD, NEW)
