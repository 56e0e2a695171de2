"""Split tests in the service: the visitor's cookies, the first view of a page under test, the
exposure beacon, and the buckets copied onto a user at sign-up.

Assignment is a pure function of the visitor id (floe.experiments), so nothing is stored until
a browser confirms it showed a variant. The cookies only tell the host's edge which pre-rendered
file to serve next time; the service itself always recomputes the variant from the visitor id.

An admin's decision (dynamic/split_tests/decisions.py) applies here at once: a test stopped
in the admin serves its concluded variant to everyone who reaches the service and is no longer
counted, while the edge keeps serving returning visitors their variant until the sites are
rebuilt.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from pathlib import Path

from crawleruseragents import CRAWLER_USER_AGENTS_DATA
from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.core.security import csrf, limiter
from dynamic.split_tests import visitor_ids
from dynamic.split_tests.decisions import DecisionsUnavailable, defined, effective
from dynamic.split_tests.models import Exposure, UserAssignment
from dynamic.split_tests.visitor_ids import address
from floe.experiments import (
    Experiment,
    Variant,
    assignment_cookie,
)
from floe.security_headers import SECURITY_HEADERS

bp = Blueprint("split", __name__)

VISITOR_COOKIE = "floe_vid"
#: Crawlers, link previews, monitors and scripts: served like anyone (anything else is cloaking),
#: never counted. The named ones are monperrus/crawler-user-agents' list (about 1,500 patterns,
#: maintained as a package), less its "browser-automation" ones: headless browsers are counted,
#: real people use them through tools. That list names agents one by one, so BOTS keeps the
#: words of kind that catch those it does not name yet (and Java's own client, which it lacks).
BOTS = re.compile(r"bot\b|bot/|crawl|spider|preview|monitor|uptime|python-|java/", re.IGNORECASE)
#: Bots name themselves early; past this, a long agent only costs time to check.
_AGENT_CHECKED = 512
#: The path of a landing page, as the build writes them: "" (home) or "name/".
_PAGE_PATH = re.compile(r"^(?:[a-z0-9][a-z0-9-]{0,99}/)?$")


def is_bot() -> bool:
    agent = request.headers.get("User-Agent", "")
    return not agent or _bot_agent(agent[:_AGENT_CHECKED])


@functools.lru_cache(maxsize=1024)
def _bot_agent(agent: str) -> bool:
    """Whether ``agent`` is a bot's. Checking takes 0.2-1 ms, so each agent is checked once:
    a visitor sends the same one on every request."""
    return bool(BOTS.search(agent)) or any(named.search(agent) for named in _named_bots())


@functools.cache
def _named_bots() -> list[re.Pattern[str]]:
    """The list's patterns, compiled when first needed (it takes 0.1 s), in groups of 40:
    measured about 3 times faster on a browser's agent than one alternation of them all."""
    named = [
        crawler["pattern"]
        for crawler in CRAWLER_USER_AGENTS_DATA
        if "browser-automation" not in crawler.get("tags", ())
    ]
    return [re.compile("|".join(named[i : i + 40])) for i in range(0, len(named), 40)]


def visitor_id() -> str | None:
    """The visitor's id, signed or not: what its variants are computed from."""
    held = visitor_ids.read(request.cookies.get(VISITOR_COOKIE))
    return held.value if held else None


def issued_visitor_id() -> str | None:
    """The visitor's id if the service issued it (a valid signature): the only ids counted."""
    held = visitor_ids.read(request.cookies.get(VISITOR_COOKIE))
    return held.value if held and held.issued else None


def forced(experiment: Experiment) -> Variant | None:
    """``?floe_force=EXPERIMENT:VARIANT``: show a variant for QA; it is never counted."""
    key, _, variant = request.args.get("floe_force", "").partition(":")
    return experiment.variant(variant) if key == experiment.key else None


def variant_for(experiment: Experiment, visitor: str) -> Variant | None:
    """The variant to show (None: outside the coverage); a stopped test shows everyone its
    concluded variant (the declared winner, else the control)."""
    return experiment.assign(visitor) if experiment.running else experiment.concluded


def under_test(tenant: str, page: str) -> Experiment | None:
    """The experiment whose edge rules route ``page`` of ``tenant`` here, with the admin's
    decision applied.

    Only experiments running in site/experiments.toml have rules (and variant files) in the
    deployed build. One stopped in the admin keeps them until the rebuild: it is served here
    as stopped. One stopped in the file has neither: its page is served as built.
    """
    running = defined().running_on(tenant, page)
    return effective()[running[0].key] if running else None


YEAR = 365 * 86400


def keep_visitor(response: Response, visitor: str) -> Response:
    """Give the visitor its id signed, unless its cookie holds it signed already (within the
    address's budget of signed ids: else the bare id, signed on a later visit)."""
    if issued_visitor_id() != visitor:
        value = visitor_ids.cookie_value(visitor)
        if request.cookies.get(VISITOR_COOKIE) != value:
            response.set_cookie(
                VISITOR_COOKIE,
                value,
                max_age=2 * YEAR,
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                samesite="Lax",
                httponly=False,
            )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def remember(response: Response, experiment: Experiment, visitor: str, variant) -> Response:
    """Set the visitor id (if new, or not yet signed) and the assignment cookie for the host's
    edge."""
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    keep_visitor(response, visitor)
    response.set_cookie(
        assignment_cookie(experiment.key, variant.key if variant else None),
        "1",
        max_age=YEAR,
        secure=secure,
        samesite="Lax",
        httponly=False,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def page_name(path: str) -> str:
    """The landing page a URL path shows: "" is home, "pricing/" is pricing."""
    return path.strip("/") or "home"


def page_file(site: Path, path: str, variant: str | None) -> Path:
    """The pre-rendered HTML of ``path``: the page's own file (``variant`` None), or the
    variant's, ``/<page>@<variant>/``."""
    if variant is None:
        return site / path.strip("/") / "index.html"
    return site / f"{page_name(path)}@{variant}" / "index.html"


def as_the_site(response: Response) -> Response:
    """A page served in the site's place, with the site's security headers: on Netlify it is a
    proxied answer, which the site's ``_headers`` never reach. Sent as the sites are served, over
    HTTPS (always, in production); over plain HTTP, in development, the policy's
    upgrade-insecure-requests would send the page's assets to an HTTPS port nothing serves."""
    if request.is_secure or current_app.config["FLOE_ENV"] == "production":
        response.headers.update(SECURITY_HEADERS)
    return response


@bp.get("/split/page/", defaults={"path": ""})
@bp.get("/split/page/<path:path>")
def page(path: str):
    """The first view of a page under test: the assigned variant's HTML, from the build output
    the service is deployed with, with the site's headers, and the cookies that let the host's
    edge serve it next."""
    if not _PAGE_PATH.match(path):  # landing pages only: never a path out of the build
        abort(404)
    site = (Path(current_app.config["FLOE_BUILD_DIR"]) / g.tenant.domain).resolve()  # one build
    try:
        experiment = under_test(g.tenant.key, page_name(path))
    except DecisionsUnavailable:
        # The database does not answer: the page as built (the control) for everyone, with no
        # cookie that would pin a variant, and so never counted; the script asks again.
        experiment = None
    visitor = visitor_id() or secrets.token_urlsafe(16)
    preview = variant = None
    if experiment is not None:
        preview = forced(experiment)
        variant = preview or variant_for(experiment, visitor)
    shown = variant.key if experiment and variant and variant != experiment.control else None
    file = page_file(site, path, shown)
    if shown and not file.is_file():
        current_app.logger.error("split: no pre-rendered page %s", file)
        file = page_file(site, path, None)
    if not file.is_file():
        abort(404)
    response = as_the_site(Response(file.read_bytes(), mimetype="text/html"))
    response.headers["Cache-Control"] = "private, no-store"
    if experiment is None or preview is not None:
        return response
    return remember(response, experiment, visitor, variant)


@bp.get("/split/assign")
def assign():
    """For hosts that cannot route by cookie: the page's script asks, and swaps in the variant."""
    key = request.args.get("exp", "")
    try:
        experiment = effective().get(key)
    except DecisionsUnavailable:  # the database does not answer: the page as built, no cookie
        return jsonify(experiment=key, variant=None)
    if experiment is None:
        return jsonify(experiment=key, variant=None)
    variant = forced(experiment)
    if variant is not None:
        return jsonify(experiment=key, variant=variant.key)
    visitor = visitor_id() or secrets.token_urlsafe(16)
    variant = variant_for(experiment, visitor)
    response = jsonify(experiment=key, variant=variant.key if variant else None)
    return remember(response, experiment, visitor, variant)


def _beacon_limit() -> str:
    return current_app.config["FLOE_BEACON_LIMIT"]


def _beacon_visitor_limit() -> str:
    return current_app.config["FLOE_BEACON_VISITOR_LIMIT"]


@bp.post("/split/seen")
@csrf.exempt
@limiter.limit(_beacon_limit, key_func=lambda: "beacon:" + address())
@limiter.limit(
    _beacon_visitor_limit,
    key_func=lambda: f"beacon-visitor:{issued_visitor_id()}",
    exempt_when=lambda: issued_visitor_id() is None,
)
def seen():
    """The beacon of a page under test: count one exposure per visitor and experiment, for
    ids the service issued only. An unsigned id (from before ids were signed, or made up) is
    not counted: it gets its id back signed, within the address's budget, for next time."""
    experiment = effective().get(request.args.get("exp", ""))
    unsigned = visitor_id()
    visitor = issued_visitor_id()
    if visitor is None and unsigned is not None and not is_bot():
        return keep_visitor(Response(status=204), unsigned)
    if (
        experiment is None
        or not experiment.running
        or visitor is None
        or is_bot()
        or request.args.get("force")
        or forced(experiment) is not None
    ):
        return Response(status=204)
    variant = experiment.assign(visitor)
    if variant is None:  # outside the coverage: not in the test
        return Response(status=204)
    try:
        db.session.add(
            Exposure(
                visitor_id=visitor,
                experiment=experiment.key,
                variant=variant.key,
                tenant=g.tenant.key,
            )
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # seen before: counted once
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("split: could not count an exposure of %s", experiment.key)
    return Response(status=204)


def attribute(user: User) -> None:
    """Copy the visitor's buckets onto ``user`` (flushed, not committed: the sign-up commits).

    The experiments are those the visitor confirmed seeing, or, while the experiment runs,
    holds an assignment cookie of (once it is stopped, the service sets the cookie of the
    concluded variant, which says nothing of the visitor's bucket). The variant is always
    recomputed from the visitor id, never taken from a cookie, and only an id the service
    issued is believed.
    """
    visitor = issued_visitor_id()
    if visitor is None:
        return
    seen_at = dict(
        db.session.execute(
            db.select(Exposure.experiment, Exposure.seen_at).where(Exposure.visitor_id == visitor)
        ).all()
    )
    now = dt.datetime.now(dt.UTC)
    for experiment in effective().values():
        cookie = experiment.running and any(
            name.startswith(f"floe_x_{experiment.key}_") for name in request.cookies
        )
        if experiment.key not in seen_at and not cookie:
            continue
        variant = experiment.assign(visitor)
        if variant is not None:
            db.session.add(
                UserAssignment(
                    user_id=user.id,
                    experiment=experiment.key,
                    variant=variant.key,
                    assigned_at=seen_at.get(experiment.key, now),
                )
            )
