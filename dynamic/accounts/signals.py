"""What the accounts tell other areas, as blinker signals (Flask's own mechanism), so that
accounts import no area that builds on them: those areas subscribe in their ``init_app``.

- :data:`signed_up`: a user was created, flushed (it has its id) but not committed: the
  sign-up commits whatever receivers add, or nothing when it fails. Split tests copy the
  visitor's buckets onto the user here.
- :data:`account_page`: the account page is shown; each receiver returns a :class:`Panel`
  (or None) shown under the account's own forms. Payments show the plan here.
- :data:`deleting_account`: the owner asked to delete the account; each receiver returns why
  it cannot be deleted yet (or None). Payments refuse while a subscription renews.

Every signal is sent with the app as sender (receivers connect for their app in their
``init_app``) and the user as ``user``: :func:`sender` is that app, kept in
``app.extensions`` by :func:`init_app` (``current_app`` is a proxy, not the app itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from flask.signals import Namespace

_signals = Namespace()

signed_up = _signals.signal("signed-up")
account_page = _signals.signal("account-page")
deleting_account = _signals.signal("deleting-account")


@dataclass(frozen=True)
class Panel:
    """A part of the account page: a template included in it, and what it shows."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


def init_app(app: Flask) -> None:
    app.extensions["floe.signal_sender"] = app


def sender() -> Flask:
    """The current app itself, the sender every receiver connected with."""
    return current_app.extensions["floe.signal_sender"]


def answers(signal: Any, user: Any) -> list[Any]:
    """What the current app's receivers of ``signal`` return for ``user``, None left out."""
    return [value for _, value in signal.send(sender(), user=user) if value is not None]
