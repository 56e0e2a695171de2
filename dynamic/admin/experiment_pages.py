"""The admin's split tests: every experiment with its verdict, a page per experiment with its
report and chart, and the buttons that stop it (with a winner or not) or resume it.

Mounted under the admin blueprint (/app/admin/experiments/), whose ``before_request`` keeps
everyone but admins out. A decision applies at once to what the service answers
(dynamic/split_tests/decisions.py); the page says what it takes for the edge to follow.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from dynamic.accounts.models import User
from dynamic.admin.forms import DecisionForm, ReportFilterForm
from dynamic.core.db import db
from dynamic.core.forms import ActionForm
from dynamic.core.look import render
from dynamic.payments.plans import format_money
from dynamic.split_tests import decisions
from dynamic.split_tests.chart import Series, rate_chart
from dynamic.split_tests.report import Report, build_report, format_p, format_pp, shortfall
from floe.experiments import Experiment

bp = Blueprint("experiments", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    filters = _filters(None)
    experiments = decisions.effective()
    if not filters.validate():
        return render("admin/experiments.html", "Split tests", 400, filters=filters, rows=[])
    rows = [(e, build_report(e, **_chosen(filters))) for e in experiments.values()]
    return render(
        "admin/experiments.html",
        "Split tests",
        filters=filters,
        rows=rows,
        in_file=decisions.defined(),
    )


@bp.get("/<key>")
def experiment(key: str) -> ResponseReturnValue:
    return _page(_experiment(key))


@bp.post("/<key>/stop")
def stop(key: str) -> ResponseReturnValue:
    experiment = _experiment(key)
    form = _decision_form(experiment)
    try:
        stopped = decisions.stop(key, form.winner.data or None, current_user.id)
    except decisions.DecisionError as error:
        return _page(experiment, error=str(error), status=400)
    flash(
        f"{key} is stopped: everyone who reaches the service now sees {stopped.concluded.key}. "
        "Returning visitors keep their variant until the sites are rebuilt and deployed."
    )
    return redirect(url_for("admin.experiments.experiment", key=key))


@bp.post("/<key>/resume")
def resume(key: str) -> ResponseReturnValue:
    experiment = _experiment(key)
    try:
        decisions.resume(key)
    except decisions.DecisionError as error:
        return _page(experiment, error=str(error), status=400)
    flash(f"{key} runs again: new visitors are assigned and counted.")
    return redirect(url_for("admin.experiments.experiment", key=key))


def _experiment(key: str) -> Experiment:
    experiment = decisions.effective().get(key)
    if experiment is None:
        abort(404)
    return experiment


def _page(
    experiment: Experiment, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    filters = _filters(experiment)
    valid = filters.validate()
    report = build_report(experiment, **_chosen(filters)) if valid else None
    decision = decisions.decision_of(experiment.key)
    return render(
        "admin/experiment.html",
        experiment.key,
        status if valid else 400,
        experiment=experiment,
        in_file=decisions.defined(),
        filters=filters,
        report=report,
        chart=_chart(report) if report else None,
        decision=decision,
        decided_by=db.session.get(User, decision.decided_by) if decision else None,
        decision_form=_decision_form(experiment),
        action=ActionForm(),
        error=error,
        shortfall=shortfall,
        **FORMATS,
    )


def _filters(experiment: Experiment | None) -> ReportFilterForm:
    """The filters of the query string; the sites to choose from are the experiment's."""
    form = ReportFilterForm(formdata=request.args)
    tenants = current_app.extensions["floe.tenants"]
    keys = experiment.tenants if experiment else list(tenants)
    form.tenant.choices = [("", "All sites"), *((key, tenants[key].name) for key in keys)]
    return form


class _Chosen(TypedDict):
    tenant: str | None
    since: dt.date | None


def _chosen(filters: ReportFilterForm) -> _Chosen:
    return {"tenant": filters.tenant.data or None, "since": filters.since.data}


def _decision_form(experiment: Experiment) -> DecisionForm:
    form = DecisionForm()
    control = experiment.control.key
    form.winner.choices = [
        ("", f"{control}, the control (no winner declared)"),
        *((v.key, f"{v.key}, declared the winner") for v in experiment.variants),
    ]
    if not form.is_submitted() and experiment.winner:
        form.winner.data = experiment.winner
    return form


def _chart(report: Report) -> Markup:
    return rate_chart(
        [Series(v.key, v.daily) for v in report.variants],
        chart_id="conversion-chart",
        title=f"Cumulative sign-up conversion rate of {report.experiment.key}, per variant",
        description=(
            "One line per variant: sign-ups divided by visitors exposed, from the first day "
            "to each day, with its 95% confidence band (Wilson). The table gives the figures."
        ),
    )


#: What a figure with nothing to divide shows.
NOTHING = "—"


def percent(share: float | None, places: int = 2) -> str:
    """A share for people: 0.0321 is "3.21%"."""
    return NOTHING if share is None else f"{share * 100:.{places}f}%"


def interval(bounds: tuple[float, float] | None, places: int = 2) -> str:
    """A 95% interval of a share: "2.10% to 4.50%"."""
    if bounds is None:
        return NOTHING
    return f"{percent(bounds[0], places)} to {percent(bounds[1], places)}"


def signed_percent(share: float | None) -> str:
    """A relative change: +12.5%."""
    return NOTHING if share is None else f"{share * 100:+.1f}%"


def signed_money(amount: float, currency: str) -> str:
    """A difference of amounts in minor units, to the cent: "+$0.25", "-$1.10"."""
    rounded = round(amount)
    return ("+" if rounded >= 0 else "") + format_money(rounded, currency)


def points_interval(bounds: tuple[float, float]) -> str:
    """An interval of a difference of rates, in percentage points: "-0.3 to +2.4 pp"."""
    return f"{bounds[0] * 100:+.1f} to {format_pp(bounds[1])}"


#: What the templates format figures with (money() is a global of dynamic/payments/checkout.py).
FORMATS = {
    "percent": percent,
    "interval": interval,
    "signed_percent": signed_percent,
    "points": format_pp,
    "points_interval": points_interval,
    "p_value": format_p,
    "signed_money": signed_money,
}
