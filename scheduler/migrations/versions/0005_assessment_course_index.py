"""assessment.course_id index: the outcomes report reads the scores of a clinic's courses

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assessment_course_id", "assessment", ["course_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_assessment_course_id", table_name="assessment")
