"""A login storm cannot starve the host: the password gate shared by the workers of a host, the
failed-login limits shared by every host through Redis, and the moving window of the login
limits, on SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynamic.core.password_gate import PasswordChecksBusy, PasswordGate
from tests.conftest import REDIS_URL, dispose_service, migrated_service
from tests.helpers.accounts import (
    HOST,
    PASSWORD,
    csrf_token,
    last_link,
    login,
    me,
    post_form,
    signup,
)

NEW_PASSWORD = "another fine password"


# --- the gate across processes -----------------------------------------------------------------


def _enter_repeatedly(directory: str, checks: int, inside, peak, entries, rounds: int) -> None:
    """One process: threads entering the gate ``rounds`` times each, counting who is inside."""
    gate = PasswordGate(Path(directory), checks=checks, waiters=16, wait=60)

    def thread() -> None:
        for _ in range(rounds):
            with gate.admitted():
                with inside.get_lock():
                    inside.value += 1
                    peak.value = max(peak.value, inside.value)
                time.sleep(0.01)  # a password check's worth of holding the slot
                with inside.get_lock():
                    inside.value -= 1
                    entries.value += 1

    threads = [threading.Thread(target=thread) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_the_gate_admits_at_most_its_checks_across_processes(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    inside, peak, entries = spawn.Value("i", 0), spawn.Value("i", 0), spawn.Value("i", 0)
    processes = [
        spawn.Process(target=_enter_repeatedly, args=(str(tmp_path), 2, inside, peak, entries, 5))
        for _ in range(2)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert entries.value == 2 * 3 * 5  # everyone got in, in turn
    assert 1 <= peak.value <= 2  # never more than two at once, across both processes


def test_a_full_waiting_room_is_refused_at_once(tmp_path: Path) -> None:
    """With every waiting place taken, a request does not wait its hour: it is refused."""
    gate = PasswordGate(tmp_path, checks=1, waiters=1, wait=3600)
    refusals: list[PasswordChecksBusy] = []

    def try_to_enter() -> None:
        try:
            with gate.admitted():
                pass  # pragma: no cover
        except PasswordChecksBusy as refused:
            refusals.append(refused)

    with gate.admitted(), _held(tmp_path / "wait-0.lock"):
        entering = threading.Thread(target=try_to_enter, daemon=True)
        entering.start()
        entering.join(timeout=60)  # a safety net: refused at once, or stuck for the hour
        assert not entering.is_alive()
    assert [(r.code, r.retry_after) for r in refusals] == [(503, 2)]


@pytest.fixture
def holder(tmp_path: Path):
    """Takes the only check slot of the service's gate, as another worker's check would."""
    return PasswordGate(tmp_path / "gate", checks=1, waiters=1, wait=0)


def _held(path: Path):
    """A lock on ``path`` held by this test, as another process would hold it."""

    class Held:
        def __enter__(self):
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT)
            fcntl.flock(self.fd, fcntl.LOCK_EX)

        def __exit__(self, *exc):
            os.close(self.fd)

    return Held()


def _locked(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.fixture
def gated(database_url: str, tmp_path: Path) -> Iterator:
    """The service with one check at a time, waiting 50 ms at most."""
    service = migrated_service(
        database_url,
        FLOE_PASSWORD_CHECKS=1,
        FLOE_PASSWORD_WAITERS=1,
        FLOE_PASSWORD_WAIT_MS=50,
        FLOE_PASSWORD_GATE_DIR=str(tmp_path / "gate"),
    )
    yield service
    dispose_service(service)


def test_a_login_beyond_the_wait_gets_503_with_retry_after(gated, holder) -> None:
    client = gated.test_client()
    signup(client)
    client = gated.test_client()
    with holder.admitted():
        busy = login(client)
        unknown = login(client, email="nobody@example.com")
    assert busy.status_code == unknown.status_code == 503
    assert busy.headers["Retry-After"] == unknown.headers["Retry-After"] == "2"
    page = busy.get_data(as_text=True)
    assert "Too many sign-ins at this moment" in page and "Tallystack" in page  # themed
    assert me(client) == {"authenticated": False}
    assert login(client).status_code == 302  # the slot is free again


def test_every_password_form_goes_through_the_gate(gated, holder) -> None:
    """Sign-up, password change, reset and account deletion hash or check a password: each
    waits for the gate, and a refused one changes nothing."""
    client = gated.test_client()
    signup(client)
    post_form(client, "/app/reset", email="ada@example.com")
    reset_link = last_link(gated, "ada@example.com")
    stranger = gated.test_client()
    with holder.admitted():
        statuses = {
            "signup": signup(stranger, email="eve@example.com").status_code,
            "change": post_form(
                client,
                "/app/account",
                "/app/account/password",
                **{
                    "password-current_password": PASSWORD,
                    "password-password": NEW_PASSWORD,
                    "password-confirm": NEW_PASSWORD,
                },
            ).status_code,
            "delete": post_form(
                client,
                "/app/account",
                "/app/account/delete",
                **{"delete-current_password": PASSWORD, "delete-confirm": "y"},
            ).status_code,
            "reset": post_form(
                stranger, reset_link, password=NEW_PASSWORD, confirm=NEW_PASSWORD
            ).status_code,
        }
    assert statuses == {"signup": 503, "change": 503, "delete": 503, "reset": 503}
    assert me(stranger) == {"authenticated": False}  # no account for eve, no reset session
    assert me(client)["email"] == "ada@example.com"  # not deleted, still logged in
    assert login(gated.test_client(), email="eve@example.com").status_code == 400
    assert login(gated.test_client(), password=NEW_PASSWORD).status_code == 400
    assert login(gated.test_client()).status_code == 302  # the old password still works


def test_a_login_that_waits_within_the_wait_gets_in(database_url, tmp_path: Path) -> None:
    service = migrated_service(
        database_url,
        FLOE_PASSWORD_CHECKS=1,
        FLOE_PASSWORD_WAITERS=1,
        FLOE_PASSWORD_WAIT_MS=30_000,
        FLOE_PASSWORD_GATE_DIR=str(tmp_path / "gate"),
    )
    try:
        client = service.test_client()
        signup(client)
        client = service.test_client()
        gate = PasswordGate(tmp_path / "gate", checks=1, waiters=1, wait=0)
        taken, waiting = threading.Event(), threading.Event()

        def hold_until_the_login_waits() -> None:
            with gate.admitted():
                taken.set()
                deadline = time.monotonic() + 60  # a safety net, not a measurement
                while not _locked(tmp_path / "gate" / "wait-0.lock"):
                    assert time.monotonic() < deadline
                    time.sleep(0.005)
                waiting.set()

        holding = threading.Thread(target=hold_until_the_login_waits)
        holding.start()
        taken.wait(10)
        answer = login(client)
        holding.join(60)
        assert waiting.is_set()  # the login did wait for the slot…
        assert answer.status_code == 302  # …and got in when it was free
    finally:
        dispose_service(service)


# --- failed logins across instances ------------------------------------------------------------


INSTANCE = """
import json, sys
from dynamic import create_app
from tests.helpers.accounts import PASSWORD, login, signup
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2],
                  "RATELIMIT_KEY_PREFIX": sys.argv[3], "FLOE_LOGIN_LIMIT": "100 per minute",
                  "FLOE_FAILED_LOGIN_ACCOUNT_LIMIT": sys.argv[4],
                  "FLOE_FAILED_LOGIN_ADDRESS_LIMIT": sys.argv[5]})
statuses = []
for step in sys.argv[6].split(","):
    if step == "signup":
        statuses.append(signup(app.test_client()).status_code)
    elif step == "right":
        statuses.append(login(app.test_client()).status_code)
    elif step == "wrong":
        statuses.append(login(app.test_client(), password="wrong password").status_code)
    else:  # another account each time, from the same address
        statuses.append(login(app.test_client(), email=step + "@example.com").status_code)
print(json.dumps(statuses))
"""


@pytest.fixture
def instance(app, database_url: str, redis_prefix: str):
    """Run steps in a process of its own (an app instance of its own) sharing Redis."""

    def run(steps: list[str], account: str = "1000 per hour", address: str = "1000 per hour"):
        url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        args = [url, REDIS_URL, redis_prefix, account, address, ",".join(steps)]
        done = subprocess.run(
            [sys.executable, "-c", INSTANCE, *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.splitlines()[-1])

    return run


def test_failed_logins_per_account_are_counted_across_instances(instance) -> None:
    limit = "3 per hour"
    assert instance(["signup", "wrong", "right", "wrong"], account=limit) == [302, 400, 302, 400]
    # the other instance sees both failures (not the success): one more, then refused
    assert instance(["wrong", "wrong", "right"], account=limit) == [400, 429, 429]


def test_failed_logins_per_address_are_counted_across_instances(instance) -> None:
    limit = "3 per hour"
    assert instance(["a1", "a2"], address=limit) == [400, 400]
    assert instance(["a3", "a4", "signup"], address=limit) == [400, 429, 302]


def test_refused_forms_are_not_failed_logins(app) -> None:
    """Only a refused password counts: a form without one, or a busy host, is not a guess."""
    app.config.update(FLOE_FAILED_LOGIN_ACCOUNT_LIMIT="2 per hour", FLOE_LOGIN_LIMIT="50/minute")
    client = app.test_client()
    signup(client)
    for _ in range(3):
        token = csrf_token(client, "/app/login")
        data = {"csrf_token": token, "email": "ada@example.com"}  # no password
        empty = client.post("/app/login", headers=HOST, data=data)
        assert empty.status_code == 400
    statuses = [login(client, password="wrong password").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


# --- the moving window -------------------------------------------------------------------------


class Clock:
    """time.time() under the test's control, starting at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_the_login_limit_holds_across_a_window_boundary(app, monkeypatch) -> None:
    """3 per minute means 3 in any minute: a fixed window would let 5 through in one second
    (one at its start, two at its end, three more as the next one begins)."""
    app.config["FLOE_LOGIN_LIMIT"] = "3 per minute"
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    client = app.test_client()
    statuses = [login(client, password="wrong password").status_code]
    clock.now += 59.5
    statuses += [login(client, password="wrong password").status_code for _ in range(2)]
    clock.now += 1.0  # a minute and a half second after the first attempt
    statuses += [login(client, password="wrong password").status_code for _ in range(3)]
    assert statuses == [400, 400, 400, 400, 429, 429]
    clock.now += 60.0  # over a minute after the two at 59.5: their places are free again
    assert login(client, password="wrong password").status_code == 400


# --- settings ----------------------------------------------------------------------------------


def test_gate_settings_are_checked(tmp_path: Path) -> None:
    from dynamic.core.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="FLOE_PASSWORD_CHECKS=0: 1 or more"):
        load_config({"FLOE_PASSWORD_CHECKS": "0"}, str(tmp_path))
    with pytest.raises(ConfigError, match="FLOE_PASSWORD_CHECKS='two': a whole number"):
        load_config({"FLOE_PASSWORD_CHECKS": "two"}, str(tmp_path))
    with pytest.raises(ConfigError, match="FLOE_RATELIMIT_STRATEGY='leaky-bucket': one of"):
        load_config({"FLOE_RATELIMIT_STRATEGY": "leaky-bucket"}, str(tmp_path))
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigError, match=r"FLOE_PASSWORD_GATE_DIR=.*cannot create it"):
        PasswordGate(tmp_path / "file" / "gate", checks=1, waiters=1, wait=1)
    config = load_config({}, str(tmp_path))
    assert config["FLOE_PASSWORD_CHECKS"] == max(1, len(os.sched_getaffinity(0)) - 1)
    assert config["RATELIMIT_STRATEGY"] == "moving-window"


def test_no_waiting_room_means_refused_at_once(tmp_path: Path) -> None:
    gate = PasswordGate(tmp_path, checks=1, waiters=0, wait=0.05)
    with gate.admitted(), pytest.raises(PasswordChecksBusy), gate.admitted():
        pass  # pragma: no cover
    with gate.admitted():  # free again
        pass
