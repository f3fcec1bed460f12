"""local time names: the hours' naive local times of day are *_time columns

opening_hours.opens_at/closes_at and working_hours.starts_at/ends_at hold naive local times of day in
the clinic's zone, while every other *_at column is a UTC instant. They become start_time/end_time on
both tables (the convention: *_at a UTC instant, *_on a local date, *_time a local time of day, as
closure.from_time/until_time already were), and their CHECK constraints follow:
ck_opening_hours_opens_before_closes and ck_working_hours_starts_before_ends become
ck_<table>_start_before_end. The export files keep the old column names (services/exports.py).

Revision ID: 0013_local_time_names
Revises: 0012_setup
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_local_time_names"
down_revision = "0012_setup"
branch_labels = None
depends_on = None

# table → (old start, old end, old CHECK constraint name)
OLD = {
    "opening_hours": ("opens_at", "closes_at", "ck_opening_hours_opens_before_closes"),
    "working_hours": ("starts_at", "ends_at", "ck_working_hours_starts_before_ends"),
}
NEW = ("start_time", "end_time")


def _rename(table: str, start: tuple[str, str], end: tuple[str, str], check: tuple[str, str]) -> None:
    """Rename the table's two columns (old → new) and its start-before-end CHECK constraint. On SQLite
    the batch rebuilds the table; the constraint is dropped first, since its text names the old columns."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(check[0]), type_="check")
        batch_op.alter_column(start[0], new_column_name=start[1], existing_type=sa.Time(), existing_nullable=False)
        batch_op.alter_column(end[0], new_column_name=end[1], existing_type=sa.Time(), existing_nullable=False)
        # As text: a condition over sa.column()s naming the new columns would be left out of the
        # rebuilt SQLite table (batch mode keeps only constraints over the columns it copies).
        batch_op.create_check_constraint(op.f(check[1]), f"{start[1]} < {end[1]}")


def upgrade() -> None:
    for table, (start, end, check) in OLD.items():
        _rename(table, (start, NEW[0]), (end, NEW[1]), (check, f"ck_{table}_start_before_end"))


def downgrade() -> None:
    for table, (start, end, check) in OLD.items():
        _rename(table, (NEW[0], start), (NEW[1], end), (f"ck_{table}_start_before_end", check))
