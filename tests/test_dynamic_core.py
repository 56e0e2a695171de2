"""The dynamic service's core: configuration, tenants by host, database, health."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy.exc import IntegrityError

from dynamic import create_app
from dynamic.core.config import DEVELOPMENT_SECRET, ConfigError, load_config
from tests.conftest import TENANT_HOST


def test_health_checks_the_database(client) -> None:
    response = client.get("/app/health", headers={"Host": TENANT_HOST})
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "tenant": "freelancers"}


def test_health_says_when_the_database_is_down() -> None:
    service = create_app(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none"}
    )
    response = service.test_client().get("/app/health", headers={"Host": TENANT_HOST})
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_the_tenant_comes_from_the_host(client) -> None:
    agencies = client.get("/app/health", headers={"Host": "teams.tallystack.example:443"})
    assert agencies.get_json()["tenant"] == "agencies"
    assert client.get("/app/health", headers={"Host": "evil.example"}).status_code == 404


def test_forwarded_headers_count_only_behind_trusted_proxies() -> None:
    headers = {
        "Host": "evil.example",
        "X-Forwarded-Host": TENANT_HOST,
        "X-Forwarded-Proto": "https",
    }
    untrusted = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).test_client()
    assert untrusted.get("/app/health", headers=headers).status_code == 404  # ignored
    trusted = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "FLOE_TRUSTED_PROXIES": 1})
    response = trusted.test_client().get("/app/health", headers=headers)
    assert response.status_code == 200 and response.get_json()["tenant"] == "freelancers"


def test_emails_are_unique_whatever_their_capitals(app) -> None:
    from dynamic.accounts.models import User
    from dynamic.core.db import db

    with app.app_context():
        db.session.add(User(email="ada@example.com", password_hash="x", tenant="freelancers"))
        db.session.commit()
        db.session.add(User(email="ADA@example.com", password_hash="x", tenant="agencies"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.query(User).count() == 1


def test_production_refuses_a_development_secret(tmp_path) -> None:
    for secret in ("", DEVELOPMENT_SECRET, "short"):
        with pytest.raises(ConfigError, match="FLOE_SECRET_KEY"):
            load_config({"FLOE_ENV": "production", "FLOE_SECRET_KEY": secret}, str(tmp_path))
    production = {
        "FLOE_ENV": "production",
        "FLOE_SECRET_KEY": secrets.token_urlsafe(48),
        "FLOE_STRIPE_SECRET_KEY": "sk_test_x",
        "FLOE_STRIPE_WEBHOOK_SECRET": "whsec_x",
    }
    with pytest.raises(ConfigError, match="FLOE_MAIL_FROM"):
        load_config(production, str(tmp_path))
    config = load_config({**production, "FLOE_MAIL_FROM": "a@example.com"}, str(tmp_path))
    assert config["FLOE_MAILER"] == "ses"
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    development = load_config({}, str(tmp_path))
    assert (
        development["SECRET_KEY"] == DEVELOPMENT_SECRET and not development["SESSION_COOKIE_SECURE"]
    )
    assert development["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/floe.sqlite"
    with pytest.raises(ConfigError, match="FLOE_TRUSTED_PROXIES"):
        load_config({"FLOE_TRUSTED_PROXIES": "yes"}, str(tmp_path))
    url = load_config({"FLOE_DATABASE_URL": "postgres://u@h/db"}, str(tmp_path))[
        "SQLALCHEMY_DATABASE_URI"
    ]
    assert url == "postgresql+psycopg://u@h/db"
