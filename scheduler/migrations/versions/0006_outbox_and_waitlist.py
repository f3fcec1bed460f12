"""the outbox (messages, patient links) and the waitlist

Revision ID: 0006_outbox
Revises: 0005
Create Date: 2026-12-01 09:35:41.856836

message: the transactional outbox of reminders, confirmations, cancellation notices and waitlist
offers. patient_link: single-use links in those messages. waitlist_entry / waitlist_offer: patients
waiting for a slot and the freed slots offered to them. Patients get a contact preference (existing
rows: email when an email is known, else sms when a phone is, else none); sessions record the
patient's confirmation, who drives them home and a reschedule request; clinics how many waitlisted
patients an offer goes to at once and their reminder hours.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_outbox"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "evaluation",
                "preparation",
                "dose",
                "integration",
                "follow_up",
                name="waitlist_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("protocol", sa.String(length=64), nullable=True),
        sa.Column("earliest_on", sa.Date(), nullable=False),
        sa.Column("latest_on", sa.Date(), nullable=False),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("waiting", "booked", "removed", name="waitlist_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_waitlist_entry_clinic_id_clinic")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_waitlist_entry_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_waitlist_entry_patient_id_patient")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["treatment_session.id"], name=op.f("fk_waitlist_entry_session_id_treatment_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entry")),
    )
    with op.batch_alter_table("waitlist_entry", schema=None) as batch_op:
        batch_op.create_index("ix_waitlist_entry_clinic_id_status", ["clinic_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_entry_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "waitlist_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("freed_session_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open", "accepted", "gone", "expired", name="offer_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_waitlist_offer_clinic_id_clinic")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["waitlist_entry.id"], name=op.f("fk_waitlist_offer_entry_id_waitlist_entry")
        ),
        sa.ForeignKeyConstraint(
            ["freed_session_id"],
            ["treatment_session.id"],
            name=op.f("fk_waitlist_offer_freed_session_id_treatment_session"),
        ),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_waitlist_offer_room_id_room")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["treatment_session.id"], name=op.f("fk_waitlist_offer_session_id_treatment_session")
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"], ["staff_member.id"], name=op.f("fk_waitlist_offer_staff_member_id_staff_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offer")),
    )
    with op.batch_alter_table("waitlist_offer", schema=None) as batch_op:
        batch_op.create_index("ix_waitlist_offer_clinic_id_status", ["clinic_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_offer_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reminder",
                "booking_confirmation",
                "cancellation",
                "waitlist_offer",
                name="message_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", name="message_channel", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "withdrawn",
                name="message_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["waitlist_offer.id"], name=op.f("fk_message_offer_id_waitlist_offer")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_message_patient_id_patient")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["treatment_session.id"], name=op.f("fk_message_session_id_treatment_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_message_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "patient_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name=op.f("fk_patient_link_message_id_message")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["waitlist_offer.id"], name=op.f("fk_patient_link_offer_id_waitlist_offer")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["treatment_session.id"], name=op.f("fk_patient_link_session_id_treatment_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_link")),
    )
    with op.batch_alter_table("patient_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_link_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patient_link_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patient_link_session_id"), ["session_id"], unique=False)

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waitlist_auto_offer", sa.SmallInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reminder_hours", sa.JSON(), nullable=True))

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "contact_preference",
                sa.Enum("email", "sms", "none", name="contact_preference", native_enum=False, create_constraint=True),
                nullable=False,
                server_default="none",
            )
        )
        batch_op.add_column(sa.Column("contact_opted_out_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("treatment_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ride_home_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("reschedule_requested_at", sa.DateTime(timezone=True), nullable=True))

    op.execute(
        "UPDATE patient SET contact_preference = CASE WHEN email IS NOT NULL AND email <> '' THEN 'email' "
        "WHEN phone IS NOT NULL AND phone <> '' THEN 'sms' ELSE 'none' END"
    )


def downgrade() -> None:
    with op.batch_alter_table("treatment_session", schema=None) as batch_op:
        batch_op.drop_column("reschedule_requested_at")
        batch_op.drop_column("ride_home_by")
        batch_op.drop_column("confirmed_at")

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint("contact_preference", type_="check")
        batch_op.drop_column("contact_opted_out_at")
        batch_op.drop_column("contact_preference")

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("reminder_hours")
        batch_op.drop_column("waitlist_auto_offer")

    with op.batch_alter_table("patient_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_link_session_id"))
        batch_op.drop_index(batch_op.f("ix_patient_link_offer_id"))
        batch_op.drop_index(batch_op.f("ix_patient_link_message_id"))

    op.drop_table("patient_link")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_status_due_at")
        batch_op.drop_index(batch_op.f("ix_message_session_id"))
        batch_op.drop_index(batch_op.f("ix_message_offer_id"))

    op.drop_table("message")
    with op.batch_alter_table("waitlist_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_offer_entry_id"))
        batch_op.drop_index("ix_waitlist_offer_clinic_id_status")

    op.drop_table("waitlist_offer")
    with op.batch_alter_table("waitlist_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_entry_patient_id"))
        batch_op.drop_index("ix_waitlist_entry_clinic_id_status")

    op.drop_table("waitlist_entry")
