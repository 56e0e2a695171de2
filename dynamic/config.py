"""The dynamic service's settings: defaults in code, overrides from ``FLOE_…`` variables.

Development runs with safe defaults (a SQLite file in the instance folder, a development
secret key, cookies allowed over plain HTTP). ``FLOE_ENV=production`` refuses to start without
a real secret key or Stripe keys and sends cookies over HTTPS only.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Never a secret: development only, and production refuses it.
DEVELOPMENT_SECRET = "floe-development-secret-do-not-use-in-production"
#: Signs the local development payments' webhook events (no Stripe keys); production refuses it.
DEVELOPMENT_WEBHOOK_SECRET = "whsec_floe_development_do_not_use_in_production"
PROJECT_DIR = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The environment asks for something the service cannot run with."""


def load_config(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Settings for ``create_app`` from ``environ`` (normally ``os.environ``)."""
    env = environ.get("FLOE_ENV", "development")
    if env not in ("development", "production"):
        raise ConfigError(f"FLOE_ENV={env!r}: use development or production")
    production = env == "production"
    secret = environ.get("FLOE_SECRET_KEY", "")
    if production and (not secret or secret == DEVELOPMENT_SECRET or len(secret) < 32):
        raise ConfigError(
            "FLOE_SECRET_KEY must be set to a random value of 32 characters or more in "
            "production, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    proxies = _number(environ, "FLOE_TRUSTED_PROXIES", 0)
    if production and not environ.get("FLOE_MAIL_FROM"):
        raise ConfigError(
            "FLOE_MAIL_FROM must be set in production: the sender of reset and confirmation "
            'mails, an address your mail service accepts, e.g. "Tallystack <hello@example.com>"'
        )
    database = environ.get("FLOE_DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "floe.sqlite")
    )
    if database.startswith("postgres://"):  # the spelling some hosts hand out
        database = "postgresql://" + database[len("postgres://") :]
    if database.startswith("postgresql://"):
        database = "postgresql+psycopg://" + database[len("postgresql://") :]
    return {
        "FLOE_ENV": env,
        "SECRET_KEY": secret or DEVELOPMENT_SECRET,
        "SQLALCHEMY_DATABASE_URI": database,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "FLOE_TRUSTED_PROXIES": proxies,
        "FLOE_SITE_DIR": environ.get("FLOE_SITE_DIR", str(PROJECT_DIR / "site")),
        # The static build the service is deployed with: split tests serve variants from it.
        "FLOE_BUILD_DIR": environ.get("FLOE_BUILD_DIR", str(PROJECT_DIR / "build")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        # Rate limits: in memory for one process; a redis:// URL for several workers.
        "RATELIMIT_STORAGE_URI": environ.get("FLOE_RATELIMIT_STORAGE_URL", "memory://"),
        "FLOE_LOGIN_LIMIT": environ.get("FLOE_LOGIN_LIMIT", "10 per minute"),
        "FLOE_SIGNUP_LIMIT": environ.get("FLOE_SIGNUP_LIMIT", "10 per hour"),
        "FLOE_RESET_LIMIT": environ.get("FLOE_RESET_LIMIT", "5 per hour"),
        "REMEMBER_COOKIE_DURATION": dt.timedelta(days=_number(environ, "FLOE_REMEMBER_DAYS", 30)),
        # How long mailed links work, in seconds.
        "FLOE_RESET_MAX_AGE": _number(environ, "FLOE_RESET_MAX_AGE", 3600),
        "FLOE_VERIFY_MAX_AGE": _number(environ, "FLOE_VERIFY_MAX_AGE", 7 * 86400),
        # Mail: "console" logs every message (development); "ses" sends with Amazon SES.
        "FLOE_MAILER": environ.get("FLOE_MAILER", "ses" if production else "console"),
        "FLOE_MAIL_FROM": environ.get("FLOE_MAIL_FROM", ""),
        "FLOE_SES_REGION": environ.get("FLOE_SES_REGION", "us-east-1"),
        "FLOE_SES_ENDPOINT_URL": environ.get("FLOE_SES_ENDPOINT_URL") or None,
        # Stripe. Without a key (development only) checkout completes locally (pay_local.py).
        # Checked by check_stripe when the app is created (tests may override them).
        "FLOE_STRIPE_SECRET_KEY": environ.get("FLOE_STRIPE_SECRET_KEY", ""),
        "FLOE_STRIPE_WEBHOOK_SECRET": environ.get("FLOE_STRIPE_WEBHOOK_SECRET", ""),
        "FLOE_STRIPE_API_BASE": environ.get("FLOE_STRIPE_API_BASE") or None,
        **site_and_edge_settings(environ, production=production, proxies=proxies),
    }


def check_stripe(config: Mapping[str, Any]) -> None:
    """Refuse Stripe settings the service cannot take payments with.

    Production needs a key and the webhook endpoint's signing secret. Development without a
    key pays locally (events signed with DEVELOPMENT_WEBHOOK_SECRET); with a key it needs the
    secret too, or every webhook would be refused.
    """
    key = config.get("FLOE_STRIPE_SECRET_KEY") or ""
    secret = config.get("FLOE_STRIPE_WEBHOOK_SECRET") or ""
    where = "the webhook endpoint's signing secret (whsec_…), for https://DOMAIN/app/pay/webhook"
    if config.get("FLOE_ENV") == "production" and not key:
        raise ConfigError(
            "FLOE_STRIPE_SECRET_KEY must be set in production: the secret API key from Stripe's "
            "Dashboard (Developers → API keys)"
        )
    if key and (not secret or secret == DEVELOPMENT_WEBHOOK_SECRET):
        raise ConfigError(f"FLOE_STRIPE_WEBHOOK_SECRET must be set with a Stripe key: {where}")
    if key and not key.startswith(("sk_", "rk_")):
        raise ConfigError("FLOE_STRIPE_SECRET_KEY: a secret (sk_…) or restricted (rk_…) key")
    base = config.get("FLOE_STRIPE_API_BASE")
    if base and not str(base).startswith(("https://", "http://")):
        raise ConfigError(f"FLOE_STRIPE_API_BASE={base!r}: a URL, e.g. https://api.stripe.com")


def _number(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        raise ConfigError(f"{name}={value!r}: a whole number of 0 or more, e.g. {default}")
    return int(value)


def site_and_edge_settings(
    environ: Mapping[str, str], *, production: bool, proxies: int
) -> dict[str, Any]:
    """Where each site is (every absolute link the service builds: dynamic/site_url.py), and
    which proof of the edge makes forwarded headers believed (dynamic/edge_proof.py)."""
    from dynamic import site_url

    pattern = environ.get("FLOE_SITE_URL") or (
        site_url.PRODUCTION_PATTERN if production else site_url.DEVELOPMENT_PATTERN
    )
    try:
        example = pattern.format(domain="tallystack.example")
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"FLOE_SITE_URL={pattern!r}: a URL with {{domain}} where the tenant's domain goes, "
            f"e.g. https://{{domain}} ({error!r})"
        ) from None
    overrides = {
        name: value.rstrip("/")
        for name, value in environ.items()
        if name.startswith(site_url.OVERRIDE_PREFIX) and value
    }
    problems = [
        site_url.origin_problem(name, value, production=production)
        for name, value in [("FLOE_SITE_URL", example), *sorted(overrides.items())]
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise ConfigError("; ".join(problems))

    edge_secrets = _secrets(environ, "FLOE_EDGE_SECRET")
    netlify_secrets = _secrets(environ, "FLOE_NETLIFY_SIGNING_SECRET")
    if production and proxies and not (edge_secrets or netlify_secrets):
        raise ConfigError(
            "FLOE_TRUSTED_PROXIES is set but no proof of the edge is: anyone reaching the origin "
            "could forge X-Forwarded-For and X-Forwarded-Host. Set FLOE_EDGE_SECRET (CloudFront's "
            "origin header, or nginx's) and/or FLOE_NETLIFY_SIGNING_SECRET (Netlify's signed "
            "proxy rule); README, Security"
        )
    for name, values in (
        ("FLOE_EDGE_SECRET", edge_secrets),
        ("FLOE_NETLIFY_SIGNING_SECRET", netlify_secrets),
    ):
        if production and any(len(value) < 32 for value in values):
            raise ConfigError(
                f"{name}: each value 32 characters or more in production, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
    return {
        "FLOE_SITE_URL": pattern.rstrip("/"),
        "FLOE_SITE_URLS": overrides,
        "FLOE_EDGE_SECRET": edge_secrets,
        "FLOE_NETLIFY_SIGNING_SECRET": netlify_secrets,
    }


def _secrets(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A secret setting's values: several, comma-separated, while one is being rotated."""
    return tuple(part.strip() for part in environ.get(name, "").split(",") if part.strip())
