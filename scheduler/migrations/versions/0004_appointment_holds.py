"""appointment holds (FHIR $hold)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:50:00

appointment_hold: a slot held for a patient until it expires (FHIR Appointment/$hold), turned into
a session by $book. On PostgreSQL two holds in status 'held' can never overlap for one room or one
patient (btree_gist exclusion constraints, by hand: autogenerate does not see them); a hold past
its expiry is marked 'expired' before a new one is placed over it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def upgrade() -> None:
    op.create_table(
        "appointment_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            _enum(("evaluation", "preparation", "dose", "integration", "follow_up"), "hold_session_kind"),
            nullable=False,
        ),
        sa.Column("phase", _enum(("induction", "maintenance"), "hold_session_phase"), nullable=True),
        sa.Column("sequence", sa.SmallInteger(), nullable=True),
        sa.Column("route", _enum(("iv", "im", "lozenge", "nasal", "tms"), "hold_session_route"), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", _enum(("held", "booked", "released", "expired"), "hold_status"), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("released_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_appointment_hold_starts_before_ends")),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_appointment_hold_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"], name=op.f("fk_appointment_hold_course_id_course")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_appointment_hold_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_appointment_hold_patient_id_patient")),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_appointment_hold_room_id_room")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["treatment_session.id"], name=op.f("fk_appointment_hold_session_id_treatment_session")
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"], ["staff_member.id"], name=op.f("fk_appointment_hold_staff_member_id_staff_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_hold")),
    )
    with op.batch_alter_table("appointment_hold", schema=None) as batch_op:
        batch_op.create_index("ix_appointment_hold_patient_id_starts_at", ["patient_id", "starts_at"], unique=False)
        batch_op.create_index("ix_appointment_hold_room_id_starts_at", ["room_id", "starts_at"], unique=False)
        batch_op.create_index(
            "ix_appointment_hold_staff_member_id_starts_at", ["staff_member_id", "starts_at"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for resource in ("room", "patient"):
            op.execute(
                f"ALTER TABLE appointment_hold ADD CONSTRAINT ex_appointment_hold_{resource}_overlap "
                f"EXCLUDE USING gist ({resource}_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
                "WHERE (status = 'held')"
            )


def downgrade() -> None:
    with op.batch_alter_table("appointment_hold", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_hold_staff_member_id_starts_at")
        batch_op.drop_index("ix_appointment_hold_room_id_starts_at")
        batch_op.drop_index("ix_appointment_hold_patient_id_starts_at")

    op.drop_table("appointment_hold")
