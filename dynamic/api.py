"""JSON for the static pages: is the visitor logged in?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

bp = Blueprint("api", __name__)


@bp.get("/api/me")
def me():
    if not current_user.is_authenticated:
        response = jsonify(authenticated=False)
    else:
        response = jsonify(authenticated=True, id=current_user.id, email=current_user.email)
    response.headers["Cache-Control"] = "private, no-store"
    return response
