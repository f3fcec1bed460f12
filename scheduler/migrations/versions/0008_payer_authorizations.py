"""payer authorizations

payer_authorization: a payer's approval of a patient's protocol, units between two local dates
(authorization_exceeded / authorization_low are computed from it and the booked doses).

Revision ID: 0008_auth
Revises: 0007
Create Date: 2026-12-01 11:01:26.826076
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_auth"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payer_authorization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=64), nullable=False),
        sa.Column("payer", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("units_authorized", sa.SmallInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("units_authorized > 0", name=op.f("ck_payer_authorization_units_positive")),
        sa.CheckConstraint("valid_from <= valid_to", name=op.f("ck_payer_authorization_dates_in_order")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_payer_authorization_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_payer_authorization_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_authorization")),
    )
    with op.batch_alter_table("payer_authorization", schema=None) as batch_op:
        batch_op.create_index("ix_payer_authorization_patient_id_protocol", ["patient_id", "protocol"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payer_authorization", schema=None) as batch_op:
        batch_op.drop_index("ix_payer_authorization_patient_id_protocol")

    op.drop_table("payer_authorization")
