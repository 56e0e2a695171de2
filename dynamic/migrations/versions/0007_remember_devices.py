"""remember_devices: each browser that logged in with "keep me logged in", by a hash of its token

A remember-me cookie works only while its device's row exists, so logging out one device ends
every copy of its cookie and leaves the user's other devices logged in.

Remember-me cookies set before this revision name no device and would keep working for their
remaining days after a logout: the upgrade gives every user a new session token, which ends
every session and remember-me cookie once (everyone logs in again after the deploy).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "remember_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_remember_devices_token_hash"),
    )
    op.create_index("ix_remember_devices_user_id", "remember_devices", ["user_id"])
    op.create_index("ix_remember_devices_expires_at", "remember_devices", ["expires_at"])
    _end_every_session()


def _end_every_session():
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    connection = op.get_bind()
    ids = connection.execute(sa.select(users.c.id)).scalars().all()
    if ids:
        connection.execute(
            users.update().where(users.c.id == sa.bindparam("user_id")),
            [{"user_id": id_, "session_token": secrets.token_urlsafe(32)} for id_ in ids],
        )


def downgrade():
    op.drop_index("ix_remember_devices_expires_at", table_name="remember_devices")
    op.drop_index("ix_remember_devices_user_id", table_name="remember_devices")
    op.drop_table("remember_devices")
