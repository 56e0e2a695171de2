"""A "keep me logged in" login makes the browser a remembered device, on SQLite and PostgreSQL:
logging out there ends every copy of its cookies, the user's other devices stay logged in, and
logging out everywhere (or a new password) ends them all. Also the migration that adds them."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from dynamic.accounts.models import RememberDevice, User
from dynamic.core.db import db
from tests.conftest import TENANT_HOST, dispose_service, migrated_service
from tests.helpers.accounts import HOST, PASSWORD, login, logout, me, post_form, signup

COOKIE = "remember_token"


def remembered_browser(app):
    """A browser that logged in with "keep me logged in"; returns it and its cookies."""
    browser = app.test_client()
    assert login(browser, remember=True).status_code == 302
    remember = browser.get_cookie(COOKIE, domain=TENANT_HOST).value
    session = browser.get_cookie("session", domain=TENANT_HOST).value
    return browser, remember, session


def copy_of(app, **cookies: str):
    """Another user agent holding copies of ``cookies``."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value, domain=TENANT_HOST)
    return thief


def devices(app) -> list[RememberDevice]:
    with app.app_context():
        rows = db.session.scalars(db.select(RememberDevice).order_by(RememberDevice.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


@pytest.fixture
def account(app):
    signup(app.test_client())
    return app


def test_a_copied_remember_cookie_is_refused_after_logout(account) -> None:
    app = account
    browser, remember, session = remembered_browser(app)
    assert me(copy_of(app, remember_token=remember))["authenticated"] is True  # before: works
    assert logout(browser).status_code == 302
    assert me(browser) == {"authenticated": False}
    assert me(copy_of(app, remember_token=remember)) == {"authenticated": False}
    # the session cookie of that login dies with it, even copied before the logout
    assert me(copy_of(app, session=session)) == {"authenticated": False}
    assert me(copy_of(app, session=session, remember_token=remember)) == {"authenticated": False}
    assert devices(app) == []


def test_the_other_devices_stay_logged_in(account) -> None:
    app = account
    laptop, laptop_cookie, _ = remembered_browser(app)
    phone, phone_cookie, _ = remembered_browser(app)
    assert len(devices(app)) == 2
    logout(laptop)
    assert me(phone)["authenticated"] is True
    restarted_phone = copy_of(app, remember_token=phone_cookie)  # the phone's browser restarted
    assert me(restarted_phone)["email"] == "ada@example.com"
    assert restarted_phone.get("/app/account", headers=HOST).status_code == 200
    assert me(copy_of(app, remember_token=laptop_cookie)) == {"authenticated": False}
    assert len(devices(app)) == 1


def test_logging_out_everywhere_ends_every_device(account) -> None:
    app = account
    laptop, laptop_cookie, _ = remembered_browser(app)
    phone, phone_cookie, _ = remembered_browser(app)
    response = post_form(phone, "/app/account", "/app/account/sessions")
    assert response.status_code == 302
    for cookie in (laptop_cookie, phone_cookie):
        assert me(copy_of(app, remember_token=cookie)) == {"authenticated": False}
    assert me(laptop) == me(phone) == {"authenticated": False}
    assert devices(app) == []


def test_an_expired_device_is_refused_and_pruned(account) -> None:
    app = account
    _, remember, _ = remembered_browser(app)
    [device] = devices(app)
    with app.app_context():
        db.session.execute(
            sa.update(RememberDevice)
            .where(RememberDevice.id == device.id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        db.session.commit()
    assert me(copy_of(app, remember_token=remember)) == {"authenticated": False}
    remembered_browser(app)  # the next remembered login deletes expired devices
    [remaining] = devices(app)
    assert remaining.token_hash != device.token_hash


def test_only_a_hash_of_the_token_is_stored(account) -> None:
    app = account
    _, remember, _ = remembered_browser(app)
    [device] = devices(app)
    token = remember.rsplit("|", 1)[0].rsplit(":", 1)[1]  # Flask-Login's "payload|digest"
    assert device.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in device.token_hash
    assert device.last_used_at is not None and device.expires_at is not None
    expected = dt.timedelta(days=30)
    stored = device.expires_at.replace(tzinfo=None) - device.created_at.replace(tzinfo=None)
    assert abs(stored - expected) < dt.timedelta(seconds=5)


def test_a_restore_from_the_cookie_records_the_last_use(account) -> None:
    app = account
    _, remember, _ = remembered_browser(app)
    [before] = devices(app)
    with app.app_context():
        db.session.execute(
            sa.update(RememberDevice).values(last_used_at=before.created_at - dt.timedelta(days=2))
        )
        db.session.commit()
    assert me(copy_of(app, remember_token=remember))["authenticated"] is True
    [after] = devices(app)
    assert after.last_used_at.replace(tzinfo=None) > before.created_at.replace(
        tzinfo=None
    ) - dt.timedelta(days=1)


def test_a_password_change_keeps_only_this_device_remembered(account) -> None:
    app = account
    laptop, laptop_cookie, _ = remembered_browser(app)
    _, phone_cookie, _ = remembered_browser(app)
    response = post_form(
        laptop,
        "/app/account",
        "/app/account/password",
        **{
            "password-current_password": PASSWORD,
            "password-password": "a brand new passphrase",
            "password-confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    new_cookie = laptop.get_cookie(COOKIE, domain=TENANT_HOST).value
    assert new_cookie != laptop_cookie
    assert me(copy_of(app, remember_token=new_cookie))["authenticated"] is True
    for old in (laptop_cookie, phone_cookie):
        assert me(copy_of(app, remember_token=old)) == {"authenticated": False}
    assert len(devices(app)) == 1


def test_deactivating_an_account_forgets_its_devices(account) -> None:
    app = account
    remembered_browser(app)
    with app.app_context():
        user = User.find("ada@example.com")
        user.is_active = False
        user.end_sessions()
        db.session.commit()
    assert devices(app) == []


def test_a_plain_login_remembers_no_device(account) -> None:
    app = account
    browser = app.test_client()
    login(browser)
    assert browser.get_cookie(COOKIE, domain=TENANT_HOST) is None
    assert devices(app) == []
    logout(browser)


# --- the migration ----------------------------------------------------------------------------


def test_the_migration_upgrades_and_downgrades(database_url) -> None:
    from flask_migrate import downgrade, upgrade

    app = migrated_service(database_url)
    try:
        with app.app_context():
            assert "remember_devices" in sa.inspect(db.engine).get_table_names()
            downgrade(revision="0006")
            assert "remember_devices" not in sa.inspect(db.engine).get_table_names()
            # a user from before: the upgrade ends the sessions and cookies that name no device
            db.session.execute(
                sa.text(
                    "INSERT INTO users (email, password_hash, tenant, is_admin, is_active, "
                    "session_token, created_at) VALUES ('old@example.com', '!', 'freelancers', "
                    ":false, :true, 'before', CURRENT_TIMESTAMP)"
                ),
                {"false": False, "true": True},
            )
            db.session.commit()
            upgrade(revision="0007")
            inspector = sa.inspect(db.engine)
            columns = {c["name"] for c in inspector.get_columns("remember_devices")}
            assert columns == {
                "id",
                "user_id",
                "token_hash",
                "created_at",
                "last_used_at",
                "expires_at",
            }
            indexes = {i["name"] for i in inspector.get_indexes("remember_devices")}
            assert {"ix_remember_devices_user_id", "ix_remember_devices_expires_at"} <= indexes
            token = db.session.scalar(
                sa.text("SELECT session_token FROM users WHERE email = 'old@example.com'")
            )
            assert token != "before" and len(token) >= 40
            db.session.commit()
    finally:
        dispose_service(app)


def test_logout_forgets_the_device_of_a_cookie_left_by_an_earlier_login(account) -> None:
    """A plain login leaves an earlier remember-me cookie in the browser: logging out there
    forgets that device too, so a copy of the cookie stops working."""
    app = account
    browser, remember, _ = remembered_browser(app)
    assert login(browser).status_code == 302  # again, without "keep me logged in"
    assert browser.get_cookie(COOKIE, domain=TENANT_HOST).value == remember
    logout(browser)
    assert me(copy_of(app, remember_token=remember)) == {"authenticated": False}
    assert devices(app) == []
