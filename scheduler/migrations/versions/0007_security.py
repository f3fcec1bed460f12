"""security: session epoch, audit actor, sign-in throttle, access log

Revision ID: 0007
Revises: 0006_outbox
Create Date: 2026-12-01 09:35:07.915744

app_user.session_epoch: raised by sign-out and a password change, ends every page cookie of the user.
audit_event.actor: "user", "cli" or "system" (who acted when actor_id is null).
sign_in_throttle: failed sign-ins per account and per client address, with the lock (shared by workers).
access_log: every read of a patient's data (who, which patient, what, when, the route).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum("account", "address", name="throttle_scope", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttle")),
        sa.UniqueConstraint("scope", "subject", name=op.f("uq_sign_in_throttle_scope_subject")),
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=32), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_access_log_patient_id_patient")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_access_log_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index("ix_access_log_at", ["at"], unique=False)
        batch_op.create_index("ix_access_log_patient_id_at", ["patient_id", "at"], unique=False)
        batch_op.create_index("ix_access_log_user_id_at", ["user_id", "at"], unique=False)

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(length=16), server_default="user", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("actor")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_access_log_user_id_at")
        batch_op.drop_index("ix_access_log_patient_id_at")
        batch_op.drop_index("ix_access_log_at")

    op.drop_table("access_log")
    op.drop_table("sign_in_throttle")
