"""Fixtures: throwaway copies of the project, and a runner for ``build.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import queue
import re
import secrets
import shutil
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import build as build_cli

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 21)


@dataclass
class Project:
    """A copy of a Floe project in a temporary folder, with helpers to edit and build it."""

    root: Path

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def out(self) -> Path:
        return self.root / "build"

    def site(self, tenant: str = "freelancers") -> Path:
        return (
            self.out
            / {"freelancers": "tallystack.example", "agencies": "teams.tallystack.example"}[tenant]
        )

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def post(self, stem: str, body: str = "Some text.", **front) -> Path:
        front.setdefault("title", stem.replace("-", " ").title())
        front.setdefault("date", "2026-01-01")
        lines = (
            ["---"]
            + [f"{key}: {_yaml(value)}" for key, value in front.items()]
            + ["---", "", body, ""]
        )
        return self.write(f"content/posts/{stem}.md", "\n".join(lines))

    def build(self, *args: str, today: dt.date = TODAY) -> Result:
        return CliRunner().invoke(
            build_cli.cli,
            [
                "--project",
                str(self.root),
                "build",
                "--out",
                str(self.out),
                "--today",
                today.isoformat(),
                *args,
            ],
        )

    def snapshot(self) -> dict[str, str]:
        """Every file under build/ with its SHA-256: compare two to see what changed."""
        return self.snapshot_of(self.out)

    def snapshot_of(self, out: Path) -> dict[str, str]:
        return {
            name: hashlib.sha256(path.read_bytes()).hexdigest()
            for name, path in published_files(out).items()
        }


def published_files(out: Path) -> dict[str, Path]:
    """Every file under ``out`` as a reader finds it, by its path from ``out``: in a build
    folder, through the links the build makes (``tallystack.example/blog/index.html``), leaving
    out the build's own folders (``builds/``, ``current``, ``.floe-cache``)."""
    found = {}
    build_folder = (out / "current").is_symlink()
    for folder, dirs, names in os.walk(out, followlinks=True):
        rel = Path(folder).relative_to(out)
        if rel == Path("."):
            dirs[:] = [
                d
                for d in dirs
                if d != ".floe-cache" and not (build_folder and d in ("builds", "current"))
            ]
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file():
                found[(rel / name).as_posix()] = path
    return found


def _yaml(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture
def sample(tmp_path: Path) -> Project:
    """A copy of this repository's own sources: site/ and the writers' content/."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "site", root / "site")
    shutil.copytree(REPO / "content", root / "content")
    return Project(root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """The repository's site/ with a minimal content/: two home pages and no posts (and no
    split tests: their variant pages are not there)."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "site", root / "site")
    (root / "site" / "experiments.toml").unlink(missing_ok=True)
    proj = Project(root)
    for tenant in ("freelancers", "agencies"):
        for name, template in (
            ("home", "home.html"),
            ("pricing", "pricing.html"),
            ("features", "page.html"),
        ):
            proj.write(
                f"content/pages/{tenant}/{name}.md",
                f"""
                ---
                title: {name.title()} of {tenant}
                template: {template}
                ---

                Welcome to {name}.
                """,
            )
    (root / "content" / "posts").mkdir()
    (root / "content" / "snippets").mkdir()
    return proj


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> Project:
    """The sample content built once (read-only), for tests that only look at output."""
    root = tmp_path_factory.mktemp("sample") / "project"
    shutil.copytree(REPO / "site", root / "site")
    shutil.copytree(REPO / "content", root / "content")
    proj = Project(root)
    result = proj.build()
    assert result.exit_code == 0, result.output
    return proj


# --- the dynamic service ---------------------------------------------------------------------

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MIGRATIONS = REPO / "dynamic" / "migrations"

# Database tests migrate once per session, not once per test: the first one to need a database
# runs Alembic's upgrade on a template (a file on SQLite, a database on PostgreSQL) and every
# test gets a copy of it (``CREATE DATABASE … TEMPLATE``, a file copy). The template is built
# fresh in every session, so a changed migration is always the one copied; tests of the
# migrations themselves still run Alembic on their copy (see test_remember_devices.py). Names
# carry this process's id (one per xdist worker too): sessions never share a database, and one
# left by a run that was killed is dropped by the next session once that process is gone.
_SESSION = f"p{os.getpid()}_{secrets.token_hex(3)}"
_STALE = re.compile(r"floe_(?:test|tmpl)_p(\d+)_")
_templates: dict[str, str] = {}
_from_template: set[str] = set()
_template_folder: list[Path] = []


def pytest_configure(config) -> None:
    """The session's own folder (removed at its end), for the SQLite template and the password
    gate's slots (lock files, see dynamic/password_gate.py): not the checkout's instance folder,
    where another session in the same checkout would share its one slot and wait, or answer
    503. Tests of the gate name their own folder; the processes a test starts inherit this one."""
    folder = Path(tempfile.mkdtemp(prefix=f"floe-test-{_SESSION}-"))
    _template_folder.append(folder)
    os.environ["FLOE_PASSWORD_GATE_DIR"] = str(folder / "gate")


def _migrations_digest() -> str:
    """A hash of the migrations' files: in the template's name, to tell which it was."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(MIGRATIONS).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def _upgrade(database_url: str) -> None:
    """Alembic's upgrade to the latest schema, as ``flask db upgrade`` runs it."""
    service = migrated_service(database_url, _template=False)
    dispose_service(service)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postgres_admin():
    import psycopg

    from tests.helpers.browser import require

    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        require(f"PostgreSQL does not answer at 127.0.0.1:5432 as user postgres ({error})")


def _postgres_template(admin) -> str:
    """The migrated template database of this session (built by the first test that needs it;
    that session also drops the databases that killed sessions left behind)."""
    if "postgresql" not in _templates:
        for (name,) in admin.execute("SELECT datname FROM pg_database").fetchall():
            stale = _STALE.match(name)
            if stale and not _alive(int(stale.group(1))):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        name = f"floe_tmpl_{_SESSION}_{_migrations_digest()}"
        admin.execute(f'CREATE DATABASE "{name}"')
        _templates["postgresql"] = name
        _upgrade(f"postgresql://postgres@127.0.0.1:5432/{name}")
    return _templates["postgresql"]


def _sqlite_template() -> Path:
    """The migrated SQLite file of this session."""
    if "sqlite" not in _templates:
        path = _template_folder[0] / f"template-{_migrations_digest()}.sqlite"
        _upgrade(f"sqlite:///{path}")
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


class _Dropper:
    """Drops the tests' PostgreSQL databases in a thread of its own, one after another, so that
    a test's teardown does not wait for it; the session's end waits for the last."""

    def __init__(self) -> None:
        self.names: queue.Queue[str | None] = queue.Queue()
        self.thread: threading.Thread | None = None

    def drop(self, name: str) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="floe-drop-databases")
            self.thread.start()
        self.names.put(name)

    def _run(self) -> None:
        with _postgres_admin() as admin:
            while (name := self.names.get()) is not None:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def finish(self) -> None:
        if self.thread is not None:
            self.names.put(None)
            self.thread.join()
            self.thread = None


_dropper = _Dropper()


def pytest_sessionfinish(session) -> None:
    """Drop this session's databases and templates (also after Ctrl-C: pytest still finishes
    the session)."""
    _dropper.finish()
    for folder in _template_folder:
        shutil.rmtree(folder, ignore_errors=True)
    if "postgresql" in _templates:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{_templates.pop("postgresql")}" WITH (FORCE)')


def _postgres_database() -> Iterator[str]:
    """A PostgreSQL database for one test, a copy of the migrated template, dropped afterwards."""
    import uuid

    with _postgres_admin() as admin:
        template = _postgres_template(admin)
        name = f"floe_test_{_SESSION}_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        _from_template.add(name)
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            _from_template.discard(name)
            _dropper.drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """Each database test runs on SQLite and on PostgreSQL, in a database of its own, migrated
    (a copy of the session's template)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'floe.sqlite'}"
    else:
        yield from _postgres_database()


def production(tmp_path: Path, **changes: str) -> dict[str, str]:
    """Every setting production needs, valid; ``changes`` on top ("" removes one)."""
    env = {
        "FLOE_ENV": "production",
        "FLOE_SECRET_KEY": secrets.token_urlsafe(48),
        "FLOE_MAIL_FROM": "Tallystack <hello@tallystack.example>",
        "FLOE_STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12),
        "FLOE_STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
        "FLOE_DATABASE_URL": f"sqlite:///{tmp_path / 'floe.sqlite'}",
    }
    env.update(changes)
    return {key: value for key, value in env.items() if value}


def migrated_service(database_url: str, _template: bool = True, **config):
    """The dynamic service on ``database_url``, migrated to the latest schema; ``config`` on
    top of the test settings. Give it back with :func:`dispose_service`.

    A database copied from the session's template (the ``database_url`` fixture's, or a SQLite
    file that does not exist yet, which becomes a copy) is migrated already; any other is
    upgraded with Alembic here."""
    from flask_migrate import upgrade

    from dynamic import create_app

    copied = _template and _copy_of_template(database_url)
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    service = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, **config})
    if not copied:
        with service.app_context():
            upgrade()
    return service


_sqlite_copies: set[Path] = set()


def _copy_of_template(database_url: str) -> bool:
    """Whether ``database_url`` is a copy of the session's migrated template (a SQLite file
    that does not exist yet is made one)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return url.database in _from_template
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    path = Path(url.database)
    if path.exists():
        return path in _sqlite_copies
    shutil.copyfile(_sqlite_template(), path)
    _sqlite_copies.add(path)
    return True


def dispose_service(service) -> None:
    """Close the service's database connections (PostgreSQL drops the database after)."""
    from dynamic.core.db import db

    with service.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(database_url: str):
    """The dynamic service on a migrated, empty database."""
    service = migrated_service(database_url)
    yield service
    dispose_service(service)


@pytest.fixture
def client(app):
    return app.test_client()


TENANT_HOST = "tallystack.example"


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the Redis at 127.0.0.1:6379, emptied afterwards."""
    import uuid

    import redis

    from tests.helpers.browser import require

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        require(f"Redis does not answer at 127.0.0.1:6379 ({error})")
    prefix = f"floe-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


# --- AWS: moto on loopback ---------------------------------------------------------------------

AWS_REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's server on a free loopback port, for this module only. moto keeps its state in
    the process, shared by every server: it starts empty and is emptied again at the end, so
    one module's buckets never reach another's model dump."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _reset_moto(url)
    try:
        yield url
    finally:
        _reset_moto(url)
        server.stop()


def _reset_moto(url: str) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.open(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_url: str) -> str:
    """Fake credentials, no shared config, no metadata service, no proxy; moto's URL."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SESV2",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    return moto_url
