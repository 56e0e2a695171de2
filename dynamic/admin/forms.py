"""The admin's forms: the split-test report's filters and an admin's decision to stop a test."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Length, Optional, ValidationError

#: Keys of sites, variants: their columns' length.
KEY_MAX = 64


class ReportFilterForm(FlaskForm):
    """The split-test report's filters, read from the query string: a GET form, no token.
    The view sets the tenant's choices."""

    class Meta:
        csrf = False

    tenant = SelectField("Site", validate_choice=False, validators=[Length(max=KEY_MAX)])
    since = DateField("Since", validators=[Optional()])

    def validate_tenant(self, field: SelectField) -> None:
        choices = field.choices if isinstance(field.choices, list) else []  # (set by the view)
        known = [choice[0] for choice in choices if choice[0]]
        if field.data and field.data not in known:
            raise ValidationError(f"No site {field.data[:64]!r} here: choose {', '.join(known)}.")


class DecisionForm(FlaskForm):
    """Stop a split test: everyone is shown the winner, or the control when none is declared.
    The view sets the choices; dynamic/split_tests/decisions.py says why a winner is refused."""

    winner = SelectField("Everyone sees from now on", validate_choice=False)
