"""user clinics: the clinics a user is limited to

Revision ID: 0009
Revises: 0008_auth
Create Date: 2026-12-01 10:00:00

user_clinic: (user_id, clinic_id) rows; a user without any sees every clinic (network admins).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_clinic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_user_clinic_clinic_id_clinic")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_user_clinic_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_clinic")),
        sa.UniqueConstraint("user_id", "clinic_id", name=op.f("uq_user_clinic_user_id_clinic_id")),
    )
    with op.batch_alter_table("user_clinic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_clinic_clinic_id"), ["clinic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_clinic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_clinic_clinic_id"))
    op.drop_table("user_clinic")
