"""The account page, email verification, password reset and account deletion, on SQLite and
PostgreSQL: what a user sees, what the mails say, and which sessions survive."""

from __future__ import annotations

import time

import itsdangerous
import pytest

from dynamic.accounts.models import User
from dynamic.core.db import db
from tests.conftest import TENANT_HOST
from tests.helpers.accounts import (
    HOST,
    PASSWORD,
    last_link,
    login,
    logout,
    me,
    outbox,
    post_form,
    signup,
)

NEW_PASSWORD = "a brand new passphrase"


def page(client, path: str) -> str:
    return client.get(path, headers=HOST).get_data(as_text=True)


def user(app, email: str) -> User | None:
    with app.app_context():
        found = User.find(email)
        if found is not None:
            db.session.expunge(found)
        return found


def second_browser(app, remember: bool = False):
    """Another device where the same user logged in."""
    other = app.test_client()
    assert login(other, remember=remember).status_code == 302
    return other


def test_signup_mails_a_link_that_confirms_the_address(app, client) -> None:
    signup(client)
    assert "not confirmed yet" in page(client, "/app/account")
    [mail] = outbox(app)
    assert mail.to == "ada@example.com" and "Confirm your email" in mail.subject
    link = last_link(app, "ada@example.com")
    assert link.startswith("/app/verify/")
    logout(client)
    confirmed = client.get(link, headers=HOST)  # works without being logged in
    assert confirmed.status_code == 200 and "ada@example.com is confirmed" in confirmed.text
    assert user(app, "ada@example.com").email_verified_at is not None
    login(client)
    assert "not confirmed yet" not in page(client, "/app/account")


def test_a_tampered_or_expired_verification_link_is_refused(app, client, monkeypatch) -> None:
    signup(client)
    link = last_link(app, "ada@example.com")
    assert client.get(link[:-3] + "abc", headers=HOST).status_code == 400
    later = int(time.time()) + 8 * 86400
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: later)
    expired = client.get(link, headers=HOST)
    assert expired.status_code == 400 and "expired" in expired.text
    assert user(app, "ada@example.com").email_verified_at is None


def test_resending_the_verification_link(app, client) -> None:
    signup(client)
    response = post_form(client, "/app/account", "/app/account/verify")
    assert response.status_code == 302
    assert [m.to for m in outbox(app)] == ["ada@example.com", "ada@example.com"]


def test_change_email(app, client) -> None:
    signup(client)
    signup(app.test_client(), email="bob@example.com")
    client.get(last_link(app, "ada@example.com"), headers=HOST)  # confirm the first address

    def change(email: str, password: str = PASSWORD):
        return post_form(
            client,
            "/app/account",
            "/app/account/email",
            **{"email-email": email, "email-current_password": password},
        )

    wrong = change("ada@new.example", password="not my password")
    assert wrong.status_code == 400 and "not your current password" in wrong.text
    taken = change("BOB@example.com")
    assert taken.status_code == 400 and "Another account uses this address" in taken.text
    assert me(client)["email"] == "ada@example.com"

    assert change("Ada@New.example").status_code == 302
    assert me(client)["email"] == "ada@new.example"
    assert user(app, "ada@new.example").email_verified_at is None  # the new one is unconfirmed
    notice, confirm = outbox(app)[-2:]
    assert notice.to == "ada@example.com" and "ada@new.example" in notice.text
    assert confirm.to == "ada@new.example" and "/app/verify/" in confirm.text
    logout(client)
    assert login(client, email="ada@example.com").status_code == 400
    assert login(client, email="ada@new.example").status_code == 302


def test_change_password_ends_every_other_session(app, client) -> None:
    signup(client)
    other = second_browser(app, remember=True)
    remember = other.get_cookie("remember_token", domain=TENANT_HOST).value

    def change(current: str, new: str = NEW_PASSWORD, confirm: str = NEW_PASSWORD):
        return post_form(
            client,
            "/app/account",
            "/app/account/password",
            **{
                "password-current_password": current,
                "password-password": new,
                "password-confirm": confirm,
            },
        )

    assert change("not my password").status_code == 400
    assert change(PASSWORD, confirm="something else").status_code == 400
    assert change(PASSWORD, new="short", confirm="short").status_code == 400
    assert me(other)["authenticated"] is True  # nothing changed yet

    assert change(PASSWORD).status_code == 302
    assert me(client)["authenticated"] is True  # this device stays logged in
    assert me(other) == {"authenticated": False}
    stolen = app.test_client()
    stolen.set_cookie("remember_token", remember, domain=TENANT_HOST)
    assert me(stolen) == {"authenticated": False}
    logout(client)
    assert login(client).status_code == 400
    assert login(client, password=NEW_PASSWORD).status_code == 302


def test_logout_everywhere(app, client) -> None:
    signup(client)
    logout(client)
    login(client, remember=True)
    other = second_browser(app, remember=True)
    remember = client.get_cookie("remember_token", domain=TENANT_HOST).value
    response = post_form(other, "/app/account", "/app/account/sessions")
    assert response.status_code == 302 and response.headers["Location"] == "/app/login"
    assert me(client) == me(other) == {"authenticated": False}
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember, domain=TENANT_HOST)
    assert me(fresh) == {"authenticated": False}
    assert login(client).status_code == 302  # the password still works


def test_password_reset(app, client) -> None:
    signup(client)
    other = second_browser(app)
    logout(client)
    asked = post_form(client, "/app/reset", email="ADA@example.com")
    assert "If an account uses ada@example.com" in page(client, "/app/login")
    unknown = post_form(client, "/app/reset", email="nobody@example.com")
    assert "If an account uses nobody@example.com" in page(client, "/app/login")
    assert asked.status_code == unknown.status_code == 302  # the same answer either way
    assert [m.to for m in outbox(app)] == ["ada@example.com", "ada@example.com"]  # none to nobody
    link = last_link(app, "ada@example.com")
    assert link.startswith("/app/reset/")

    form = client.get(link, headers=HOST)
    assert form.status_code == 200 and "ada@example.com" in form.text
    mismatch = post_form(client, link, password=NEW_PASSWORD, confirm="other")
    assert mismatch.status_code == 400
    done = post_form(client, link, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert done.status_code == 302 and me(client)["email"] == "ada@example.com"
    assert me(other) == {"authenticated": False}
    assert user(app, "ada@example.com").email_verified_at is not None  # the mail proved it

    used = client.get(link, headers=HOST)
    assert used.status_code == 400 and "not valid" in used.text
    logout(client)
    assert login(client).status_code == 400
    assert login(client, password=NEW_PASSWORD).status_code == 302


def test_an_expired_reset_link_is_refused(app, client, monkeypatch) -> None:
    signup(client)
    logout(client)
    post_form(client, "/app/reset", email="ada@example.com")
    link = last_link(app, "ada@example.com")
    later = int(time.time()) + 3601
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: later)
    expired = client.get(link, headers=HOST)
    assert expired.status_code == 400 and "expired" in expired.text
    refused = client.post(link, headers=HOST, data={"password": NEW_PASSWORD})
    assert refused.status_code == 400
    assert login(client).status_code == 302  # the old password still works


def test_a_reset_link_dies_when_the_password_changes(app, client) -> None:
    signup(client)
    logout(client)
    post_form(client, "/app/reset", email="ada@example.com")
    first = last_link(app, "ada@example.com")
    post_form(client, "/app/reset", email="ada@example.com")
    second = last_link(app, "ada@example.com")
    assert post_form(client, second, password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 302
    assert client.get(first, headers=HOST).status_code == 400


def test_reset_requests_are_rate_limited(app, client) -> None:
    statuses = [
        post_form(client, "/app/reset", email="someone@example.com").status_code for _ in range(6)
    ]
    assert statuses == [302] * 5 + [429]


def test_delete_account(app, client) -> None:
    signup(client)

    def delete(password: str = PASSWORD, confirm: bool = True):
        data = {"delete-current_password": password}
        if confirm:
            data["delete-confirm"] = "y"
        return post_form(client, "/app/account", "/app/account/delete", **data)

    assert delete(password="not my password").status_code == 400
    unconfirmed = delete(confirm=False)
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.text
    assert me(client)["authenticated"] is True

    assert delete().status_code == 302
    assert me(client) == {"authenticated": False}
    assert login(client).status_code == 400
    with app.app_context():
        [row] = db.session.scalars(db.select(User)).all()
        assert row.deleted_at is not None and not row.is_active
        assert "ada" not in row.email and not row.check_password(PASSWORD)
    assert signup(client).status_code == 302  # the address is free again


@pytest.mark.parametrize("path", ["/app/account", "/app/admin/"])
def test_pages_that_need_a_login_send_anonymous_visitors_to_it(client, path: str) -> None:
    response = client.get(path, headers=HOST)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/app/login?next=")


def test_a_reset_link_dies_when_the_email_changes(app, client) -> None:
    """It was mailed to the old address: it must not confirm (or reset) the new one."""
    signup(client)
    post_form(client, "/app/reset", email="ada@example.com")
    link = last_link(app, "ada@example.com")
    post_form(
        client,
        "/app/account",
        "/app/account/email",
        **{"email-email": "ada@new.example", "email-current_password": PASSWORD},
    )
    assert client.get(link, headers=HOST).status_code == 400
    assert user(app, "ada@new.example").email_verified_at is None


def test_leaving_says_so_on_the_next_page(app, client) -> None:
    signup(client)
    post_form(client, "/app/account", "/app/account/sessions")
    assert "You are logged out on every device" in page(client, "/app/login")
    login(client)
    post_form(
        client,
        "/app/account",
        "/app/account/delete",
        **{"delete-current_password": PASSWORD, "delete-confirm": "y"},
    )
    assert "Your account is deleted" in page(client, "/app/login")


def test_guessing_the_current_password_is_rate_limited(app, client) -> None:
    signup(client)
    statuses = [
        post_form(
            client,
            "/app/account",
            "/app/account/password",
            **{
                "password-current_password": f"guess {i}",
                "password-password": NEW_PASSWORD,
                "password-confirm": NEW_PASSWORD,
            },
        ).status_code
        for i in range(11)
    ]
    assert statuses == [400] * 10 + [429]
