"""payments: Stripe customers, checkout sessions, payments, disputes, subscriptions, events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(length=255), nullable=nullable)


def upgrade():
    op.create_table(
        "stripe_customers",
        _id("id", nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", name="uq_stripe_customers_user"),
    )
    op.create_table(
        "checkout_sessions",
        _id("id", nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_checkout_sessions_user_id", "checkout_sessions", ["user_id"])
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("plan", sa.String(length=130), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_refunded", sa.Integer(), nullable=False),
        _id("customer_id"),
        _id("payment_intent_id"),
        _id("invoice_id"),
        _id("charge_id"),
        _id("checkout_session_id"),
        _id("subscription_id"),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_intent_id", name="uq_payments_payment_intent"),
        sa.UniqueConstraint("invoice_id", name="uq_payments_invoice"),
        sa.UniqueConstraint("charge_id", name="uq_payments_charge"),
        sa.UniqueConstraint("checkout_session_id", name="uq_payments_checkout_session"),
    )
    op.create_index("ix_payments_user_id", "payments", ["user_id"])
    op.create_index("ix_payments_customer_id", "payments", ["customer_id"])
    op.create_index("ix_payments_subscription_id", "payments", ["subscription_id"])
    op.create_table(
        "disputes",
        _id("id", nullable=False),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=True),
        _id("charge_id"),
        _id("payment_intent_id"),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        _when("created_at"),
        _when("state_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disputes_payment_id", "disputes", ["payment_id"])
    op.create_index("ix_disputes_charge_id", "disputes", ["charge_id"])
    op.create_index("ix_disputes_payment_intent_id", "disputes", ["payment_intent_id"])
    op.create_table(
        "subscriptions",
        _id("id", nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _id("customer_id"),
        sa.Column("plan", sa.String(length=130), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        _when("current_period_end", nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        _when("created_at"),
        _when("state_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscriptions_user_id", "subscriptions", ["user_id"])
    op.create_index("ix_subscriptions_customer_id", "subscriptions", ["customer_id"])
    op.create_table(
        "stripe_events",
        _id("id", nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        _when("created_at"),
        _when("received_at"),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("stripe_events")
    for name in ("ix_subscriptions_customer_id", "ix_subscriptions_user_id"):
        op.drop_index(name, table_name="subscriptions")
    op.drop_table("subscriptions")
    for column in ("payment_intent_id", "charge_id", "payment_id"):
        op.drop_index(f"ix_disputes_{column}", table_name="disputes")
    op.drop_table("disputes")
    for name in ("ix_payments_subscription_id", "ix_payments_customer_id", "ix_payments_user_id"):
        op.drop_index(name, table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_checkout_sessions_user_id", table_name="checkout_sessions")
    op.drop_table("checkout_sessions")
    op.drop_table("stripe_customers")
