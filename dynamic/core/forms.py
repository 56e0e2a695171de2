"""What every area's forms share: the action button's form and a form page's status."""

from __future__ import annotations

from collections.abc import Iterable

from flask import request
from flask_wtf import FlaskForm
from wtforms import Field


def form_status() -> int:
    """A form page answers 200 when shown, 400 when shown again with the errors of a post."""
    return 200 if request.method == "GET" else 400


def entered(field: Field) -> str:
    """The text of a field its validators required, once the form validated."""
    data = field.data
    assert isinstance(data, str), f"{field.name} has no text: validate the form first"
    return data


def add_errors(field: Field, *messages: str | Iterable[str]) -> None:
    """Show ``messages`` under ``field`` (each a message, or several), after its own."""
    added = [m for item in messages for m in ([item] if isinstance(item, str) else item)]
    field.errors = [*field.errors, *added]


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token (logout, admin actions…)."""
