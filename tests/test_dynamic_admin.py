"""The admin and ``flask create-admin``, on SQLite and PostgreSQL: who may see it, and what its
buttons do to the users they act on."""

from __future__ import annotations

import pytest

from dynamic.accounts.models import User
from dynamic.core.db import db
from tests.helpers.accounts import HOST, PASSWORD, last_link, login, me, outbox, post_form, signup

ADMIN = "root@example.com"


def create_admin(app, email: str = ADMIN, *args: str):
    return app.test_cli_runner().invoke(args=["create-admin", email, *args])


@pytest.fixture
def admin(app):
    """A logged-in admin's browser."""
    result = create_admin(app, ADMIN, "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    browser = app.test_client()
    assert login(browser, email=ADMIN).status_code == 302
    return browser


def user_id(app, email: str) -> int:
    with app.app_context():
        return User.find(email).id


def test_access_rules(app, client, admin) -> None:
    anonymous = client.get("/app/admin/", headers=HOST)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/app/login?next=%2Fapp%2Fadmin%2F"
    signup(client)
    for path in ("/app/admin/", f"/app/admin/users/{user_id(app, 'ada@example.com')}"):
        refused = client.get(path, headers=HOST)
        assert refused.status_code == 403 and "for administrators" in refused.text
    denied = client.post(
        f"/app/admin/users/{user_id(app, ADMIN)}/deactivate", headers=HOST, data={}
    )
    assert denied.status_code == 400  # no CSRF token: refused before anything else
    assert admin.get("/app/admin/", headers=HOST).status_code == 200


def test_list_and_search(app, client, admin) -> None:
    signup(client, email="ada@example.com")
    signup(app.test_client(), email="bob@other.example")
    listing = admin.get("/app/admin/", headers=HOST).text
    assert "ada@example.com" in listing and "bob@other.example" in listing and ADMIN in listing
    found = admin.get("/app/admin/?q=OTHER", headers=HOST).text
    assert "bob@other.example" in found and "ada@example.com" not in found
    none = admin.get("/app/admin/?q=%25", headers=HOST).text  # a literal %, not a wildcard
    assert "No user matches" in none


def test_deactivate_and_reactivate(app, client, admin) -> None:
    signup(client)
    number = user_id(app, "ada@example.com")
    page = f"/app/admin/users/{number}"
    assert post_form(admin, page, f"{page}/deactivate").status_code == 302
    assert me(client) == {"authenticated": False}  # logged out at once
    assert login(client).status_code == 400
    assert "deactivated" in admin.get(page, headers=HOST).text
    assert post_form(admin, page, f"{page}/reactivate").status_code == 302
    assert login(client).status_code == 302


def test_an_admin_cannot_deactivate_themselves(app, admin) -> None:
    page = f"/app/admin/users/{user_id(app, ADMIN)}"
    post_form(admin, page, f"{page}/deactivate")
    assert "cannot deactivate your own account" in admin.get(page, headers=HOST).text
    assert me(admin)["authenticated"] is True


def test_admin_sends_a_reset_link(app, client, admin) -> None:
    signup(client)
    page = f"/app/admin/users/{user_id(app, 'ada@example.com')}"
    assert post_form(admin, page, f"{page}/reset").status_code == 302
    link = last_link(app, "ada@example.com")
    assert link.startswith("/app/reset/")
    new = "chosen after the admin's mail"
    response = post_form(app.test_client(), link, password=new, confirm=new)
    assert response.status_code == 302


def test_reset_links_point_at_the_users_own_site(app, admin) -> None:
    other_site = "teams.tallystack.example"
    signup(app.test_client(), email="carol@example.com", host=other_site)
    page = f"/app/admin/users/{user_id(app, 'carol@example.com')}"
    post_form(admin, page, f"{page}/reset")
    assert f"http://{other_site}:5000/app/reset/" in outbox(app)[-1].text  # FLOE_SITE_URL


def test_create_admin_promotes_an_existing_user(app, client) -> None:
    signup(client)
    result = create_admin(app, "ADA@example.com")
    assert result.exit_code == 0 and "ada@example.com is now an admin" in result.output
    assert client.get("/app/admin/", headers=HOST).status_code == 200


def test_create_admin_prompts_for_a_new_accounts_password(app) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", ADMIN], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        created = User.find(ADMIN)
        assert created.is_admin and created.is_verified and created.tenant == "freelancers"
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-email", "--password", PASSWORD], "EMAIL"),
        ([ADMIN, "--password", "short"], "10 characters or more"),
        ([ADMIN, "--password", PASSWORD, "--tenant", "nope"], "no tenant 'nope'"),
    ],
)
def test_create_admin_refuses_bad_input(app, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=["create-admin", *args])
    assert result.exit_code == 2 and message in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_the_last_admin_cannot_delete_their_account(app, admin) -> None:
    data = {"delete-current_password": PASSWORD, "delete-confirm": "y"}
    refused = post_form(admin, "/app/account", "/app/account/delete", **data)
    assert refused.status_code == 400 and "You are the last admin" in refused.text
    assert me(admin)["authenticated"] is True
    create_admin(app, "second@example.com", "--password", PASSWORD)
    assert post_form(admin, "/app/account", "/app/account/delete", **data).status_code == 302


def test_unknown_or_huge_user_numbers_are_not_found(admin) -> None:
    for number in ("424242", "3000000000", "99999999999999999999"):
        assert admin.get(f"/app/admin/users/{number}", headers=HOST).status_code == 404
