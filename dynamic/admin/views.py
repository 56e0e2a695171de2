"""The admin: list and search users, send a reset link, deactivate and reactivate; payments
and each user's lifetime value; split tests (dynamic/admin/experiment_pages.py, mounted here).

Admins only: anonymous visitors go to the login page, other users get 403.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import func

from dynamic.accounts import mails
from dynamic.accounts.models import User
from dynamic.admin import experiment_pages
from dynamic.core import inputs
from dynamic.core.db import db
from dynamic.core.forms import ActionForm
from dynamic.core.look import render
from dynamic.core.security import login_manager
from dynamic.payments import ledger
from dynamic.payments.models import Payment
from dynamic.split_tests.models import UserAssignment

bp = Blueprint("admin", __name__, template_folder="templates")  # admin/templates/
bp.register_blueprint(experiment_pages.bp, url_prefix="/experiments")

PER_PAGE = 50
#: The longest search: an email address.
SEARCH_MAX = 320


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


@bp.get("/")
def index():
    query = inputs.text_arg("q", max_length=SEARCH_MAX).strip()
    select = db.select(User).order_by(User.created_at.desc(), User.id.desc())
    if query:
        select = select.where(func.lower(User.email).contains(query.lower(), autoescape=True))
    page = _page_of(select)
    values = ledger.lifetime_values(user.id for user in page.items)
    return render("admin/index.html", "Users", page=page, query=query, values=values)


@bp.get("/users/<int(max=2147483647):user_id>")
def user(user_id: int):
    found = _user(user_id)
    payments = ledger.payments_of(found.id)
    return render(
        "admin/user.html",
        "User",
        user=found,
        action=ActionForm(),
        lifetime_value=ledger.lifetime_value(found.id),
        entitlement=ledger.entitlement(found.id),
        payments=payments,
        held=ledger.held_disputes(p.id for p in payments),
        buckets=db.session.scalars(
            db.select(UserAssignment)
            .where(UserAssignment.user_id == found.id)
            .order_by(UserAssignment.experiment)
        ).all(),
        plans=ledger.plans(),
    )


@bp.get("/payments")
def payments():
    """Every payment, newest first, with its user."""
    select = db.select(Payment).order_by(Payment.created_at.desc(), Payment.id.desc())
    page = _page_of(select)
    ids = {payment.user_id for payment in page.items if payment.user_id is not None}
    users = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
    return render(
        "admin/payments.html",
        "Payments",
        page=page,
        users=users,
        held=ledger.held_disputes(p.id for p in page.items),
        plans=ledger.plans(),
    )


@bp.post("/users/<int(max=2147483647):user_id>/reset")
def send_reset(user_id: int):
    user = _user(user_id)
    if not user.is_active:
        flash("Reactivate the account first: a deactivated account cannot reset its password.")
    elif mails.send_reset(user):
        flash(f"Sent a password reset link to {user.email}.")
    else:
        flash(f"Could not send the mail to {user.email}: see the service's log.")
    return _back(user)


@bp.post("/users/<int(max=2147483647):user_id>/deactivate")
def deactivate(user_id: int):
    user = _user(user_id)
    if user.id == current_user.id:
        flash("You cannot deactivate your own account.")
        return _back(user)
    user.is_active = False
    user.end_sessions()
    db.session.commit()
    flash(f"{user.email} is deactivated and logged out everywhere.")
    return _back(user)


@bp.post("/users/<int(max=2147483647):user_id>/reactivate")
def reactivate(user_id: int):
    user = _user(user_id)
    if user.deleted_at is not None:
        flash("This account was deleted by its owner: it cannot come back.")
        return _back(user)
    user.is_active = True
    db.session.commit()
    flash(f"{user.email} can log in again.")
    return _back(user)


def _page_of(select):
    """The page of the query string (a number out of range is a page that does not exist)."""
    return db.paginate(select, page=inputs.page_arg(), per_page=PER_PAGE, error_out=False)


def _user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


def _back(user: User):
    return redirect(url_for("admin.user", user_id=user.id))
