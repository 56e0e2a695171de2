"""The admin: list and search users, send a reset link, deactivate and reactivate.

Admins only: anonymous visitors go to the login page, other users get 403.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func

from dynamic import notify
from dynamic.db import db
from dynamic.forms import ActionForm
from dynamic.look import render
from dynamic.models import User
from dynamic.security import login_manager

bp = Blueprint("admin", __name__)

PER_PAGE = 50


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


@bp.get("/")
def index():
    query = request.args.get("q", "").strip()
    select = db.select(User).order_by(User.created_at.desc(), User.id.desc())
    if query:
        select = select.where(func.lower(User.email).contains(query.lower(), autoescape=True))
    page = db.paginate(select, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render("admin/index.html", "Users", page=page, query=query)


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    return render("admin/user.html", "User", user=_user(user_id), action=ActionForm())


@bp.post("/users/<int:user_id>/reset")
def send_reset(user_id: int):
    user = _user(user_id)
    if not user.is_active:
        flash("Reactivate the account first: a deactivated account cannot reset its password.")
    elif notify.send_reset(user):
        flash(f"Sent a password reset link to {user.email}.")
    else:
        flash(f"Could not send the mail to {user.email}: see the service's log.")
    return _back(user)


@bp.post("/users/<int:user_id>/deactivate")
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


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    user = _user(user_id)
    if user.deleted_at is not None:
        flash("This account was deleted by its owner: it cannot come back.")
        return _back(user)
    user.is_active = True
    db.session.commit()
    flash(f"{user.email} can log in again.")
    return _back(user)


def _user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


def _back(user: User):
    return redirect(url_for("admin.user", user_id=user.id))
