"""exposures: an index that covers the split-test report's queries

The report counts exposures per variant (and per day) of one experiment, optionally of one
tenant and from a date: (experiment, tenant, seen_at, variant) answers all of it from the
index alone, without reading the table's rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_exposures_report", "exposures", ["experiment", "tenant", "seen_at", "variant"]
    )
    op.drop_index("ix_exposures_experiment", table_name="exposures")


def downgrade():
    op.create_index("ix_exposures_experiment", "exposures", ["experiment", "variant"])
    op.drop_index("ix_exposures_report", table_name="exposures")
