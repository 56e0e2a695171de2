"""What every area's mails share: a body from templates (a text part and an HTML part), a link
on the recipient's own site, and what happens when sending fails (it is logged; the caller
tells the user).

Each mail is two templates beside its area, ``<area>/email/<name>.txt`` and ``….html``, as
microblog keeps them; the HTML part escapes every value (Flask autoescapes ``.html``), the text
part is the mail's plain text, exactly as written.
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import current_app, g, render_template, request

from dynamic.core.mail import MailError, send_after_response, send_mail
from dynamic.core.site_url import absolute_url
from dynamic.core.tenancy import tenants


class Recipient(Protocol):
    """Whom a mail is about: an account's address and the tenant it signed up on."""

    email: str
    tenant: str


def link_for(user: Recipient, endpoint: str, **values: str) -> str:
    """An absolute link on the site where ``user`` signed up (an admin may be on another),
    from the configured site URL: never from the request's Host (dynamic/core/site_url.py)."""
    return absolute_url(tenants(current_app).get(user.tenant, g.tenant), endpoint, **values)


def site_name(user: Recipient) -> str:
    """The name of the site where ``user`` signed up (the request's, for an unknown tenant)."""
    registry = tenants(current_app)
    return registry[user.tenant].name if user.tenant in registry else g.tenant.name


def compose(template: str, **context: Any) -> tuple[str, str]:
    """The text and HTML parts of the mail ``template`` (a path without its extension)."""
    text = render_template(f"{template}.txt", **context)
    # Jinja drops a template's last line break; a mail's text ends with one.
    return text if text.endswith("\n") else text + "\n", render_template(
        f"{template}.html", **context
    )


def send(to: str, subject: str, template: str, **context: Any) -> bool:
    """Send the mail ``template`` to ``to`` now; False (and logged) when it could not go."""
    text, html = compose(template, subject=subject, **context)
    try:
        send_mail(to, subject, text, html)
    except MailError as error:
        current_app.logger.error(
            "mail to %s failed (%s %s): %s", to, request.method, request.path, error
        )
        return False
    return True


def send_later(to: str, subject: str, template: str, **context: Any) -> None:
    """Send the mail ``template`` once the response is sent (dynamic.core.mail)."""
    text, html = compose(template, subject=subject, **context)
    send_after_response(to, subject, text, html)
