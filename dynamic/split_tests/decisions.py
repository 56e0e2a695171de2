"""Admins' decisions on split tests: stop a running experiment, or stop it with a winner.

site/experiments.toml defines the experiments, and the build (so the host's edge) follows it.
A decision made in the admin is stored in the database instead, so that every worker and host
applies it at once to the requests the service answers: :func:`effective` gives the file's
experiments with the decisions applied, read once per request. A decision applies only while
the file says "running": once the file says "stopped" too (``python build.py experiment stop``),
the file rules, as the build that serves the winner at the page's own URL does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from flask import current_app, g
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dynamic.core.db import DatabaseUnavailable, db
from dynamic.split_tests.models import ExperimentDecision
from floe.experiments import Experiment, Experiments

_MEMO = "floe_effective_experiments"


class DecisionError(ValueError):
    """A decision that cannot be made; the message says why, for the admin."""


class DecisionsUnavailable(DatabaseUnavailable):
    """The decisions could not be read: whether a test still runs is unknown, so nobody may be
    assigned or counted (a test stopped in the admin would start again)."""


def defined() -> Experiments:
    """The experiments as site/experiments.toml defines them (and the deployed build serves)."""
    return current_app.extensions["floe.experiments"]


def apply(experiments: Experiments, decisions: Iterable[ExperimentDecision]) -> Experiments:
    """``experiments`` with each running one that has a decision stopped (with its winner)."""
    by_key = {decision.experiment: decision for decision in decisions}
    return Experiments(
        {key: _decided(experiment, by_key.get(key)) for key, experiment in experiments.items()}
    )


def _decided(experiment: Experiment, decision: ExperimentDecision | None) -> Experiment:
    if decision is None or not experiment.running:
        return experiment
    # A winner the file no longer has (its variants were edited since) falls back to the control.
    winner = decision.winner if decision.winner and experiment.variant(decision.winner) else None
    return dataclasses.replace(experiment, status="stopped", winner=winner)


def effective() -> Experiments:
    """The experiments as the service applies them now: one small query per request.

    Raises DecisionsUnavailable (a 503, dynamic/core/error_pages.py) when the database does not
    answer; the first views of pages under test catch it and serve the control
    (dynamic/split_tests/assignment.py)."""
    if _MEMO not in g:
        try:
            setattr(g, _MEMO, _load())
        except DecisionsUnavailable as error:
            setattr(g, _MEMO, error)  # one wait per request, not one per call
    memo = getattr(g, _MEMO)
    if isinstance(memo, DecisionsUnavailable):
        raise memo
    return memo


def _load() -> Experiments:
    experiments = defined()
    running = [key for key, experiment in experiments.items() if experiment.running]
    if not running:  # nothing a decision could change: no query
        return experiments
    try:
        decisions = db.session.scalars(
            db.select(ExperimentDecision).where(ExperimentDecision.experiment.in_(running))
        ).all()
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.error("split: could not read the decisions: %s", error)
        raise DecisionsUnavailable(f"could not read the split-test decisions: {error}") from error
    return apply(experiments, decisions)


def decision_of(key: str) -> ExperimentDecision | None:
    return db.session.get(ExperimentDecision, key)


def decided() -> dict[str, ExperimentDecision]:
    """Every decision made in the admin, by experiment (also those the file now overrides)."""
    return {d.experiment: d for d in db.session.scalars(db.select(ExperimentDecision))}


def stop(key: str, winner: str | None, user_id: int) -> Experiment:
    """Stop ``key`` (everyone sees ``winner``, or the control when None); changing the winner
    of an experiment stopped here is allowed. Gives the experiment as now applied."""
    experiment = defined()[key]
    if not experiment.running:
        raise DecisionError(
            f"{key} is {experiment.status} in site/experiments.toml: only a running experiment "
            "can be stopped here."
        )
    if winner and experiment.variant(winner) is None:
        variants = ", ".join(v.key for v in experiment.variants)
        raise DecisionError(
            f"{winner!r} is not a variant of {key}: choose one of {variants}, or no winner."
        )
    decision = decision_of(key) or ExperimentDecision(experiment=key)
    decision.status = "stopped"
    decision.winner = winner or None
    decision.decided_at = dt.datetime.now(dt.UTC)
    decision.decided_by = user_id
    db.session.add(decision)
    try:
        db.session.commit()
    except IntegrityError as error:  # another admin stopped it in the same instant
        db.session.rollback()
        raise DecisionError(
            f"Another admin decided on {key} at the same moment: reload the page to see it."
        ) from error
    g.pop(_MEMO, None)
    return effective()[key]


def resume(key: str) -> Experiment:
    """Undo the decision on ``key``: it runs again, as site/experiments.toml still says."""
    experiment = defined()[key]
    if not experiment.running:
        raise DecisionError(
            f"site/experiments.toml says {key} is {experiment.status}: set it to running there, "
            "rebuild and deploy to run it again."
        )
    result = db.session.execute(
        db.delete(ExperimentDecision).where(ExperimentDecision.experiment == key)
    )
    assert isinstance(result, CursorResult)  # what a DELETE returns: it has the row count
    deleted = result.rowcount
    db.session.commit()
    if not deleted:
        raise DecisionError(f"{key} is not stopped: there is nothing to undo.")
    g.pop(_MEMO, None)
    return effective()[key]
