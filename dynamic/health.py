"""``GET /app/health``: the service answers and its database does."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dynamic.db import db

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as error:
        current_app.logger.error("health check: database unreachable: %s", error)
        database = "unreachable"
    status = 200 if database == "ok" else 503
    return jsonify(
        status="ok" if status == 200 else "degraded", database=database, tenant=g.tenant.key
    ), status
