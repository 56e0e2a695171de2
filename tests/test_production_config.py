"""Production refuses debug mode and guessable secret keys, and names every bad setting at
once, as a short message from ``flask --app dynamic`` and from gunicorn (no traceback)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from dynamic import create_app
from dynamic.core.config import ConfigError, check_stripe, load_config
from tests.conftest import production

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def problems(environ: dict[str, str], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_config(environ, str(tmp_path))
    return refused.value.problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    environ = production(
        tmp_path,
        FLOE_SECRET_KEY="",
        FLOE_MAIL_FROM="",
        FLOE_STRIPE_SECRET_KEY="",
        FLOE_TRUSTED_PROXIES="two",
        FLASK_DEBUG="1",
    )
    found = problems(environ, tmp_path)
    named = [problem.split()[0].split("=")[0] for problem in found]
    assert named == [
        "FLOE_SECRET_KEY",
        "FLASK_DEBUG",
        "FLOE_TRUSTED_PROXIES",
        "FLOE_MAIL_FROM",
        "FLOE_STRIPE_SECRET_KEY",
    ]
    with pytest.raises(ConfigError) as refused:
        load_config(environ, str(tmp_path))
    message = str(refused.value)
    assert message.startswith("5 settings need fixing")
    assert all(problem in message for problem in found)
    assert load_config(production(tmp_path), str(tmp_path))["FLOE_ENV"] == "production"


def test_stripe_problems_are_listed_together() -> None:
    with pytest.raises(ConfigError) as refused:
        check_stripe({"FLOE_STRIPE_SECRET_KEY": "pk_live_x", "FLOE_STRIPE_API_BASE": "api"})
    assert [p.split()[0].split("=")[0].rstrip(":") for p in refused.value.problems] == [
        "FLOE_STRIPE_WEBHOOK_SECRET",
        "FLOE_STRIPE_SECRET_KEY",
        "FLOE_STRIPE_API_BASE",
    ]


@pytest.mark.parametrize(
    "secret",
    ["a" * 32, "k" * 48, "ab" * 32, "abc" * 16, "aaab" * 10],
)
def test_a_guessable_secret_key_is_refused(tmp_path: Path, secret: str) -> None:
    (problem,) = problems(production(tmp_path, FLOE_SECRET_KEY=secret), tmp_path)
    assert problem.startswith("FLOE_SECRET_KEY is too predictable")
    assert "secrets.token_urlsafe(48)" in problem


def test_random_secret_keys_always_pass(tmp_path: Path) -> None:
    for _ in range(500):
        load_config(production(tmp_path, FLOE_SECRET_KEY=secrets.token_urlsafe(48)), str(tmp_path))
    for _ in range(200):  # the shortest accepted: 32 hexadecimal digits (128 random bits)
        load_config(production(tmp_path, FLOE_SECRET_KEY=secrets.token_hex(16)), str(tmp_path))


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_production_refuses_flask_debug(tmp_path: Path, value: str) -> None:
    (problem,) = problems(production(tmp_path, FLASK_DEBUG=value), tmp_path)
    assert problem.startswith(f"FLASK_DEBUG='{value}': never in production")
    load_config(production(tmp_path, FLASK_DEBUG="0"), str(tmp_path))
    load_config({"FLASK_DEBUG": value}, str(tmp_path))  # development may debug


def test_production_refuses_debug_set_in_the_app_config(tmp_path, monkeypatch) -> None:
    for key, value in production(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError, match="debug mode is on"):
        create_app({"DEBUG": True})
    assert create_app({"DEBUG": False}).debug is False


def clean_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "GUNICORN_", "FLASK_")) and key not in ("PORT",)
    }
    return {**env, **settings}


def assert_short_message(done: subprocess.CompletedProcess, expected: list[str]) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    for text in expected:
        assert text in output, output
    assert len(output.strip().splitlines()) <= len(expected) + 3, output


BAD = {"FLOE_SECRET_KEY": "a" * 32, "FLOE_MAIL_FROM": "", "FLASK_DEBUG": "1"}
EXPECTED = [
    "3 settings need fixing",
    "FLOE_SECRET_KEY is too predictable",
    "FLASK_DEBUG='1': never in production",
    "FLOE_MAIL_FROM must be set in production",
]


def test_flask_cli_shows_every_problem_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "dynamic", "db", "upgrade"],
        cwd=REPO,
        env=clean_env(tmp_path, **production(tmp_path, **BAD)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_short_message(done, EXPECTED)


def test_gunicorn_shows_every_problem_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "dynamic:create_app()"],
        cwd=REPO,
        env=clean_env(tmp_path, GUNICORN_BIND="127.0.0.1:0", **production(tmp_path, **BAD)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_short_message(done, EXPECTED)
