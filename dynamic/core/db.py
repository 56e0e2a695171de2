"""The database: Flask-SQLAlchemy models, migrated with Alembic through Flask-Migrate.

Every wait on the database is bounded, so a dead or frozen server costs a visitor seconds and
a 503 (dynamic/core/error_pages.py), never a hung worker thread: connecting
(``FLOE_DB_CONNECT_TIMEOUT``), waiting for a pooled connection (``FLOE_DB_POOL_TIMEOUT``), each
statement
(``FLOE_DB_STATEMENT_TIMEOUT``: the server's ``statement_timeout``, and on PostgreSQL a client
deadline a little later for a server too frozen to enforce it, dynamic/core/deadlines.py; SQLite's
busy timeout on a locked file), and a network gone quiet (``FLOE_DB_NETWORK_TIMEOUT``: TCP
keepalives and ``tcp_user_timeout``). ``pool_pre_ping`` replaces connections that broke while
pooled, so the service recovers by itself when the database is back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase

from dynamic.core import deadlines

#: How much longer than the server's statement_timeout the client waits before giving up on a
#: server that does not answer: the server, when alive, cancels first and the connection stays.
CLIENT_GRACE = 1.0


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    # What type checkers see of db.Model: Flask-SQLAlchemy makes it at run time, a subclass
    # of Base, which they cannot follow. Models subclass Model.
    Model = Base
else:
    Model = db.Model
migrate = Migrate()


def utcnow() -> dt.datetime:
    """Now, in UTC: the default of every model's time columns."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` with its time zone: SQLite gives stored times back without one (UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class DatabaseUnavailable(RuntimeError):
    """The database did not answer: the request is answered 503, to be retried later."""


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for ``config``'s database, with its timeouts (the
    configured options win: a test or an operator may set their own)."""
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    statement = float(config.get("FLOE_DB_STATEMENT_TIMEOUT", 0))
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "postgresql":
        # (SQLite's pools hand out a connection at once: no wait to bound.)
        pool_timeout = float(config.get("FLOE_DB_POOL_TIMEOUT", 0))
        if pool_timeout:
            options["pool_timeout"] = pool_timeout
        network = int(config.get("FLOE_DB_NETWORK_TIMEOUT", 0))
        args: dict[str, Any] = {"connect_timeout": int(config.get("FLOE_DB_CONNECT_TIMEOUT", 0))}
        if statement:
            args["options"] = f"-c statement_timeout={round(statement * 1000)}"
        if network:
            # A peer that vanished (no answer to keepalives, or unacknowledged data) is given
            # up after about `network` seconds.
            args.update(
                keepalives=1,
                keepalives_idle=max(1, network // 2),
                keepalives_interval=max(1, network // 6),
                keepalives_count=3,
                tcp_user_timeout=network * 1000,
            )
        options["connect_args"] = args
    elif url.get_backend_name() == "sqlite" and statement:
        # How long a statement waits for another writer's lock before "database is locked".
        options["connect_args"] = {"timeout": statement}
    configured = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if "connect_args" in configured:
        configured["connect_args"] = {
            **options.get("connect_args", {}),
            **configured["connect_args"],
        }
    return {**options, **configured}


def init_app(app: Flask) -> None:
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    db.init_app(app)
    statement = float(app.config.get("FLOE_DB_STATEMENT_TIMEOUT", 0))
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        client = statement + CLIENT_GRACE if statement else 0.0

        @event.listens_for(engine, "do_connect")
        def connect_with_deadlines(dialect, record, cargs, cparams):
            return deadlines.connect(client, *cargs, **cparams)
