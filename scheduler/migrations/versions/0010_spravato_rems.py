"""spravato rems

clinic.rems_certification_id, patient.rems_enrollment_id / rems_enrolled_on (Spravato REMS
certification and enrollment), and rems_monitoring_form: the REMS Patient Monitoring Form of an
esketamine session (rems_form_due / rems_form_overdue are computed from it and the sessions).

Revision ID: 0010_rems
Revises: 0009
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_rems"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rems_certification_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rems_enrollment_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("rems_enrolled_on", sa.Date(), nullable=True))
    op.create_table(
        "rems_monitoring_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("field_set", sa.SmallInteger(), nullable=False),
        sa.Column("bp_before_systolic", sa.SmallInteger(), nullable=False),
        sa.Column("bp_before_diastolic", sa.SmallInteger(), nullable=False),
        sa.Column("bp_40min_systolic", sa.SmallInteger(), nullable=False),
        sa.Column("bp_40min_diastolic", sa.SmallInteger(), nullable=False),
        sa.Column("bp_discharge_systolic", sa.SmallInteger(), nullable=False),
        sa.Column("bp_discharge_diastolic", sa.SmallInteger(), nullable=False),
        sa.Column("sedation", sa.String(length=32), nullable=False),
        sa.Column("dissociation", sa.String(length=32), nullable=False),
        sa.Column("respiratory_status", sa.String(length=32), nullable=False),
        sa.Column("monitoring_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("monitoring_reason", sa.String(length=500), nullable=True),
        sa.Column("ready_to_leave_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adverse_events", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_rems_monitoring_form_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["app_user.id"], name=op.f("fk_rems_monitoring_form_recorded_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["treatment_session.id"], name=op.f("fk_rems_monitoring_form_session_id_treatment_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_monitoring_form")),
        sa.UniqueConstraint("session_id", name=op.f("uq_rems_monitoring_form_session_id")),
    )
    with op.batch_alter_table("rems_monitoring_form", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rems_monitoring_form_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rems_monitoring_form", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rems_monitoring_form_patient_id"))
    op.drop_table("rems_monitoring_form")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("rems_enrolled_on")
        batch_op.drop_column("rems_enrollment_id")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("rems_certification_id")
