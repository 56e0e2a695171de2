"""experiment_decisions: an admin's stop (and declared winner) of a running split test

One row per experiment, read by every request of the split-test endpoints, so each worker and
host applies a decision at once; deleting the row resumes the test.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "experiment_decisions",
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("winner", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.PrimaryKeyConstraint("experiment"),
        sa.CheckConstraint("status = 'stopped'", name="ck_experiment_decisions_status"),
    )


def downgrade():
    op.drop_table("experiment_decisions")
