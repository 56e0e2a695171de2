"""What every area's forms share: the action button's form and a form page's status."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm


def form_status() -> int:
    """A form page answers 200 when shown, 400 when shown again with the errors of a post."""
    return 200 if request.method == "GET" else 400


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token (logout, admin actions…)."""
