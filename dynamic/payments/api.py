"""JSON for the static pages: is the visitor logged in, and has paid?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from dynamic.payments.ledger import entitlement

bp = Blueprint("api", __name__)


@bp.get("/api/me")
def me():
    if not current_user.is_authenticated:
        response = jsonify(authenticated=False)
    else:
        paid = entitlement(current_user.id)
        response = jsonify(
            authenticated=True,
            id=current_user.id,
            email=current_user.email,
            # What the user has paid for (the payment records say; see dynamic/payments/ledger.py).
            paid=paid.paid,
            paid_until=paid.until.isoformat() if paid.until else None,
            plan=paid.plan_key,
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response
