"""The dynamic service's settings: defaults in code, overrides from ``FLOE_…`` variables.

Development runs with safe defaults (a SQLite file in the instance folder, a development
secret key, cookies allowed over plain HTTP). ``FLOE_ENV=production`` refuses to start without
a random secret key, a sender or Stripe keys, or in debug mode, listing every problem in one
ConfigError, and sends cookies over HTTPS only.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from limits import parse_many

#: Never a secret: development only, and production refuses it.
DEVELOPMENT_SECRET = "floe-development-secret-do-not-use-in-production"
#: Signs the local development payments' webhook events (no Stripe keys); production refuses it.
DEVELOPMENT_WEBHOOK_SECRET = "whsec_floe_development_do_not_use_in_production"
#: The repository: dynamic/core/config.py is two folders down.
PROJECT_DIR = Path(__file__).resolve().parents[2]


class ConfigError(click.ClickException, RuntimeError):
    """The environment asks for something the service cannot run with: every problem found,
    each with what to do.

    A ClickException, so ``flask --app dynamic …`` prints the message alone (no traceback); a
    RuntimeError, so gunicorn, checking the settings before it starts workers
    (gunicorn.conf.py), prints ``Error: …`` and exits."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} settings need fixing before the service can start:\n"
            message += "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(message)


#: A production secret key needs at least this many characters and this many bits, as
#: estimated by :func:`estimated_bits`: ``secrets.token_urlsafe(48)`` gives about 300,
#: ``secrets.token_hex(16)`` 90 or more; ``'a' * 32`` 0 and ``'abc' * 16`` 76.
SECRET_MIN_LENGTH = 32
SECRET_MIN_BITS = 80
#: Values Flask reads as "debug off" in FLASK_DEBUG (flask.helpers.get_debug_flag).
_DEBUG_OFF = ("", "0", "false", "no")


def estimated_bits(secret: str) -> float:
    """The Shannon entropy of ``secret``'s characters times its length: a lower estimate of
    how hard it is to guess when drawn at random, and near zero for ``'a' * 32``."""
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return max(0.0, per_char * len(secret))


def load_config(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Settings for ``create_app`` from ``environ`` (normally ``os.environ``).

    Raises one ConfigError listing every problem found (production's Stripe settings too)."""
    problems: list[str] = []
    env = environ.get("FLOE_ENV", "development")
    if env not in ("development", "production"):
        problems.append(f"FLOE_ENV={env!r}: use development or production")
    production = env == "production"
    secret = environ.get("FLOE_SECRET_KEY", "")
    if production:
        problems += _secret_problems(secret)
        if environ.get("FLASK_DEBUG", "").strip().lower() not in _DEBUG_OFF:
            problems.append(
                f"FLASK_DEBUG={environ['FLASK_DEBUG']!r}: never in production (the debugger "
                "runs any code a visitor sends): unset it, or use FLOE_ENV=development"
            )
    proxies = _number(environ, "FLOE_TRUSTED_PROXIES", 0, problems)
    if production and not environ.get("FLOE_MAIL_FROM"):
        problems.append(
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
    config = {
        "FLOE_ENV": env,
        "SECRET_KEY": secret or DEVELOPMENT_SECRET,
        "SQLALCHEMY_DATABASE_URI": database,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Every wait on the database is bounded (dynamic/core/db.py): a dead or frozen server gets
        # the visitor a 503 in seconds, never a hung request. 0 turns a bound off.
        "FLOE_DB_CONNECT_TIMEOUT": _number(environ, "FLOE_DB_CONNECT_TIMEOUT", 3, problems),
        "FLOE_DB_STATEMENT_TIMEOUT": _seconds(environ, "FLOE_DB_STATEMENT_TIMEOUT", 5, problems),
        "FLOE_DB_POOL_TIMEOUT": _seconds(environ, "FLOE_DB_POOL_TIMEOUT", 2, problems),
        "FLOE_DB_NETWORK_TIMEOUT": _number(environ, "FLOE_DB_NETWORK_TIMEOUT", 10, problems),
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
        # Set on every app: Flask-Limiter's one limiter would otherwise carry the last app's
        # setting over to the next app created in the same process (tests, the CLI).
        "RATELIMIT_ENABLED": True,
        # Rate limits: in memory for one process; a redis:// URL for several workers.
        "RATELIMIT_STORAGE_URI": environ.get("FLOE_RATELIMIT_STORAGE_URL", "memory://"),
        # Seconds Redis gets to connect and to answer each command before the limits fall back
        # to the process's memory (dynamic/core/security.py).
        "FLOE_REDIS_TIMEOUT": _seconds(environ, "FLOE_REDIS_TIMEOUT", 0.5, problems),
        "FLOE_LOGIN_LIMIT": environ.get("FLOE_LOGIN_LIMIT", "10 per minute"),
        "FLOE_SIGNUP_LIMIT": environ.get("FLOE_SIGNUP_LIMIT", "10 per hour"),
        "FLOE_RESET_LIMIT": environ.get("FLOE_RESET_LIMIT", "5 per hour"),
        "REMEMBER_COOKIE_DURATION": dt.timedelta(
            days=_number(environ, "FLOE_REMEMBER_DAYS", 30, problems)
        ),
        # How long mailed links work, in seconds.
        "FLOE_RESET_MAX_AGE": _number(environ, "FLOE_RESET_MAX_AGE", 3600, problems),
        "FLOE_VERIFY_MAX_AGE": _number(environ, "FLOE_VERIFY_MAX_AGE", 7 * 86400, problems),
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
        **_login_storm_settings(environ, problems),
        # Split-test exposures (dynamic/split_tests/visitor_ids.py): beacons per address (an
        # IPv6 /64) and per visitor id, and the signed visitor ids one address is issued.
        "FLOE_BEACON_LIMIT": _rate(environ, "FLOE_BEACON_LIMIT", "60 per minute", problems),
        "FLOE_BEACON_VISITOR_LIMIT": _rate(
            environ, "FLOE_BEACON_VISITOR_LIMIT", "30 per hour", problems
        ),
        "FLOE_VISITOR_ID_LIMIT": _rate(environ, "FLOE_VISITOR_ID_LIMIT", "20 per hour", problems),
        **site_and_edge_settings(environ, problems, production=production, proxies=proxies),
    }
    problems += stripe_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def _login_storm_settings(environ: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """What keeps a storm of logins from taking the host (dynamic/core/password_gate.py) or an
    account (the failed-login limits, dynamic/accounts/auth.py)."""
    from dynamic.core.password_gate import default_checks

    checks = _number(environ, "FLOE_PASSWORD_CHECKS", default_checks(), problems)
    if checks < 1:
        problems.append(f"FLOE_PASSWORD_CHECKS={checks}: 1 or more, e.g. {default_checks()}")
        checks = default_checks()
    strategy = environ.get("FLOE_RATELIMIT_STRATEGY", "moving-window")
    if strategy not in RATELIMIT_STRATEGIES:
        problems.append(
            f"FLOE_RATELIMIT_STRATEGY={strategy!r}: one of {', '.join(RATELIMIT_STRATEGIES)}"
        )
        strategy = "moving-window"
    return {
        # Password hashes computed at once on this host, across all the service's workers.
        "FLOE_PASSWORD_CHECKS": checks,
        # Requests that may wait for a turn (each holds a thread), and for how long.
        "FLOE_PASSWORD_WAITERS": _number(environ, "FLOE_PASSWORD_WAITERS", 2 * checks, problems),
        "FLOE_PASSWORD_WAIT_MS": _number(environ, "FLOE_PASSWORD_WAIT_MS", 500, problems),
        # The lock files of the gate: the same folder for every worker of the host.
        "FLOE_PASSWORD_GATE_DIR": environ.get("FLOE_PASSWORD_GATE_DIR") or None,
        # Failed logins (wrong password or unknown email), counted after the answer, in the
        # limiter's storage: with FLOE_RATELIMIT_STORAGE_URL=redis://… for every host at once.
        "FLOE_FAILED_LOGIN_ACCOUNT_LIMIT": _rate(
            environ, "FLOE_FAILED_LOGIN_ACCOUNT_LIMIT", "20 per hour;50 per day", problems
        ),
        "FLOE_FAILED_LOGIN_ADDRESS_LIMIT": _rate(
            environ, "FLOE_FAILED_LOGIN_ADDRESS_LIMIT", "30 per hour;100 per day", problems
        ),
        # A moving window: a fixed one lets twice the limit through around its boundary.
        "RATELIMIT_STRATEGY": strategy,
        # Put before every rate-limit key: services (or benches) sharing one Redis apart.
        "RATELIMIT_KEY_PREFIX": environ.get("FLOE_RATELIMIT_KEY_PREFIX", ""),
    }


#: Flask-Limiter's strategies (limits' names).
RATELIMIT_STRATEGIES = ("moving-window", "sliding-window-counter", "fixed-window")


def check_stripe(config: Mapping[str, Any]) -> None:
    """Refuse Stripe settings the service cannot take payments with (one ConfigError listing
    each problem)."""
    problems = stripe_problems(config)
    if problems:
        raise ConfigError(problems)


def stripe_problems(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with the Stripe settings of ``config``, each with what to do.

    Production needs a key and the webhook endpoint's signing secret. Development without a
    key pays locally (events signed with DEVELOPMENT_WEBHOOK_SECRET); with a key it needs the
    secret too, or every webhook would be refused.
    """
    problems = []
    key = config.get("FLOE_STRIPE_SECRET_KEY") or ""
    secret = config.get("FLOE_STRIPE_WEBHOOK_SECRET") or ""
    where = "the webhook endpoint's signing secret (whsec_…), for https://DOMAIN/app/pay/webhook"
    if config.get("FLOE_ENV") == "production" and not key:
        problems.append(
            "FLOE_STRIPE_SECRET_KEY must be set in production: the secret API key from Stripe's "
            "Dashboard (Developers → API keys)"
        )
    if key and (not secret or secret == DEVELOPMENT_WEBHOOK_SECRET):
        problems.append(f"FLOE_STRIPE_WEBHOOK_SECRET must be set with a Stripe key: {where}")
    if key and not key.startswith(("sk_", "rk_")):
        problems.append("FLOE_STRIPE_SECRET_KEY: a secret (sk_…) or restricted (rk_…) key")
    base = config.get("FLOE_STRIPE_API_BASE")
    if base and not str(base).startswith(("https://", "http://")):
        problems.append(f"FLOE_STRIPE_API_BASE={base!r}: a URL, e.g. https://api.stripe.com")
    return problems


def check_debug(debug: bool, config: Mapping[str, Any]) -> None:
    """Refuse Flask's debug mode (``app.debug``, from FLASK_DEBUG or DEBUG) in production."""
    if debug and config.get("FLOE_ENV") == "production":
        raise ConfigError(
            "debug mode is on (FLASK_DEBUG or DEBUG): never in production (the debugger runs "
            "any code a visitor sends): unset FLASK_DEBUG and DEBUG, or use FLOE_ENV=development"
        )


def _secret_problems(secret: str) -> list[str]:
    how = "e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if not secret or secret == DEVELOPMENT_SECRET or len(secret) < SECRET_MIN_LENGTH:
        return [
            f"FLOE_SECRET_KEY must be set to a random value of {SECRET_MIN_LENGTH} characters "
            f"or more in production, {how}"
        ]
    if estimated_bits(secret) < SECRET_MIN_BITS:
        return [
            f"FLOE_SECRET_KEY is too predictable (about {estimated_bits(secret):.0f} bits; "
            f"{SECRET_MIN_BITS} or more needed): use a random value, {how}"
        ]
    return []


def _number(environ: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    value = environ.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        problems.append(f"{name}={value!r}: a whole number of 0 or more, e.g. {default}")
        return default
    return int(value)


def _rate(environ: Mapping[str, str], name: str, default: str, problems: list[str]) -> str:
    """Rate limits in Flask-Limiter's notation (``;`` between several), checked now rather than
    at the first request."""
    value = environ.get(name, "") or default
    try:
        parse_many(value)
    except ValueError:
        problems.append(f"{name}={value!r}: a rate such as {default!r}")
        return default
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        problems.append(f"{name}={value!r}: seconds, 0 or more (e.g. {default:g}); 0 is no limit")
        return default
    return seconds


def site_and_edge_settings(
    environ: Mapping[str, str], problems: list[str], *, production: bool, proxies: int
) -> dict[str, Any]:
    """Where each site is (every absolute link the service builds: dynamic/core/site_url.py), and
    which proof of the edge makes forwarded headers believed (dynamic/core/edge_proof.py)."""
    from dynamic.core import site_url

    pattern = environ.get("FLOE_SITE_URL") or (
        site_url.PRODUCTION_PATTERN if production else site_url.DEVELOPMENT_PATTERN
    )
    try:
        example = pattern.format(domain="tallystack.example")
    except (KeyError, IndexError, ValueError) as error:
        problems.append(
            f"FLOE_SITE_URL={pattern!r}: a URL with {{domain}} where the tenant's domain goes, "
            f"e.g. https://{{domain}} ({error!r})"
        )
        example = None
    overrides = {
        name: value.rstrip("/")
        for name, value in environ.items()
        if name.startswith(site_url.OVERRIDE_PREFIX) and value
    }
    urls = [("FLOE_SITE_URL", example)] if example is not None else []
    for name, value in [*urls, *sorted(overrides.items())]:
        problem = site_url.origin_problem(name, value, production=production)
        if problem:
            problems.append(problem)

    edge_secrets = _secrets(environ, "FLOE_EDGE_SECRET")
    netlify_secrets = _secrets(environ, "FLOE_NETLIFY_SIGNING_SECRET")
    if production and proxies and not (edge_secrets or netlify_secrets):
        problems.append(
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
            problems.append(
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
