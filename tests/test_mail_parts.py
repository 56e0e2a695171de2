"""Every mail has a text part and an HTML part, written from the templates beside its area
(dynamic/<area>/templates/<area>/email/): the same words and link in both, and in the HTML
every value escaped."""

from __future__ import annotations

import re

from flask import g

from dynamic.core.mails import compose
from dynamic.core.tenancy import tenants
from tests.conftest import TENANT_HOST
from tests.helpers.accounts import HOST, outbox, signup


def test_the_sign_up_mail_has_a_text_and_an_html_part_with_the_same_link(app, client) -> None:
    signup(client)

    [mail] = outbox(app)
    [link] = re.findall(r"https?://\S+", mail.text)
    assert "/app/verify/" in link and mail.text.endswith("ignore this mail.\n")
    assert mail.html is not None and mail.html.startswith("<!doctype html>")
    assert f'<a href="{link}">{link}</a>' in mail.html
    assert "Please confirm that ada@example.com is your address" in mail.html


def test_the_html_part_escapes_every_value_and_the_text_part_keeps_it(app) -> None:
    with app.test_request_context("/app/signup", headers=HOST):
        g.tenant = next(t for t in tenants(app).values() if t.domain == TENANT_HOST)
        user = type("U", (), {"email": "<b>x</b>@example.com", "tenant": g.tenant.key})
        text, html = compose(
            "accounts/email/email_changed",
            subject="a < b",
            user=user,
            site="S&P",
            old_address='"old"@example.com',
        )

    assert 'from "old"@example.com to <b>x</b>@example.com' in text and "S&P" in text
    assert "&lt;b&gt;x&lt;/b&gt;@example.com" in html and "<b>" not in html
    assert "S&amp;P" in html and "&#34;old&#34;@example.com" in html
    assert "<title>a &lt; b</title>" in html
