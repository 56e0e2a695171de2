"""What split tests store: confirmed exposures, the buckets copied onto users at sign-up, and
the admins' decisions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dynamic.core.db import Model
from dynamic.core.db import utcnow as _now


class Exposure(Model):
    """A visitor's browser confirmed it showed a variant: once per visitor and experiment."""

    __tablename__ = "exposures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    experiment: Mapped[str] = mapped_column(String(64), nullable=False)
    variant: Mapped[str] = mapped_column(String(64), nullable=False)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )

    __table_args__ = (
        UniqueConstraint("visitor_id", "experiment", name="uq_exposures_visitor"),
        # Covers the split-test report's counts (dynamic/split_tests/report.py).
        Index("ix_exposures_report", "experiment", "tenant", "seen_at", "variant"),
    )


class UserAssignment(Model):
    """A user's bucket in an experiment, copied at sign-up: payments are credited to it."""

    __tablename__ = "user_assignments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    experiment: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64), nullable=False)
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ExperimentDecision(Model):
    """An admin stopped a running experiment (and maybe declared its winner) from the admin.

    Kept here rather than only in site/experiments.toml so every worker and host applies it at
    once to the requests the service answers (dynamic/split_tests/decisions.py); the edge
    follows when the file says so and the sites are rebuilt. One row per experiment: deleting it
    resumes.
    """

    __tablename__ = "experiment_decisions"

    experiment: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="stopped", nullable=False)
    #: The variant everyone is shown from now on; None: the control, without a winner declared.
    winner: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("status = 'stopped'", name="ck_experiment_decisions_status"),)
