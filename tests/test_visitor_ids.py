"""Exposures cannot be forged, on SQLite and PostgreSQL: the service signs the visitor ids it
issues and counts only those; an unsigned id from before keeps its variant and is signed on
its next visit; the beacon is limited per address and per id, and each address is issued a
bounded number of signed ids."""

from __future__ import annotations

import re

import pytest
from itsdangerous import Signer

from dynamic.accounts.models import User
from dynamic.core.config import ConfigError, load_config
from dynamic.core.db import db
from dynamic.split_tests.models import Exposure, UserAssignment
from dynamic.split_tests.visitor_ids import VisitorId, read
from tests.conftest import TENANT_HOST, Project, dispose_service, migrated_service
from tests.helpers.accounts import HOST, signup

EXPERIMENT = "pricing-annual-first"  # the sample site's test of the pricing page, 50/50
BROWSER = {**HOST, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36"}
BEACON = f"/app/split/seen?exp={EXPERIMENT}"
PAGE = "/app/split/page/pricing/"
#: Ids of before (bare, 16-64 URL-safe characters), chosen by the test.
LEGACY = [f"legacy-visitor-{i:04d}-abc" for i in range(200)]


@pytest.fixture
def service_with(database_url: str, sample_build: Project):
    """The service with the sample site's experiments and build, on ``database_url``, with
    the given settings on top."""
    started = []

    def start(**settings):
        started.append(
            migrated_service(database_url, FLOE_BUILD_DIR=str(sample_build.out), **settings)
        )
        return started[-1]

    yield start
    for service in started:
        dispose_service(service)


@pytest.fixture
def service(service_with):
    return service_with()


def browser(service, address: str = "203.0.113.7", vid: str | None = None):
    """A fresh browser at ``address``, holding the ``floe_vid`` cookie ``vid`` if given."""
    client = service.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if vid is not None:
        client.set_cookie("floe_vid", vid, domain=TENANT_HOST)
    return client


def held(client) -> str | None:
    found = client.get_cookie("floe_vid", domain=TENANT_HOST)
    return found.value if found else None


def variant_of(service, visitor: str) -> str:
    return service.extensions["floe.experiments"][EXPERIMENT].assign(visitor).key


def shown(response) -> str:
    return re.search(r'data-variant="([^"]+)"', response.text).group(1)


def counted(service) -> list[tuple[str, str]]:
    with service.app_context():
        return sorted(
            (e.visitor_id, e.variant) for e in db.session.scalars(db.select(Exposure)).all()
        )


def in_variant(service, variant: str, count: int) -> list[str]:
    """Made-up ids that all fall into ``variant``: what a script skewing a test would pick."""
    return [v for v in LEGACY if variant_of(service, v) == variant][:count]


def issued(service, cookie: str | None):
    with service.app_context():
        return read(cookie)


def test_a_first_view_issues_a_signed_id_counted_once(service) -> None:
    client = browser(service)
    page = client.get(PAGE, headers=BROWSER)
    assert page.status_code == 200
    cookie = held(client)
    visitor, dot, signature = cookie.partition(".")
    assert dot and signature and issued(service, cookie) == VisitorId(visitor, issued=True)
    assert shown(page) == variant_of(service, visitor)  # the id alone decides, as GrowthBook
    for _ in range(3):
        assert client.post(BEACON, headers=BROWSER).status_code == 204
    assert counted(service) == [(visitor, variant_of(service, visitor))]
    # A reload leaves the id as it is.
    reload = client.get(PAGE, headers=BROWSER).headers.getlist("Set-Cookie")
    assert reload and not any(c.startswith("floe_vid=") for c in reload)
    assert held(client) == cookie


def test_made_up_or_forged_ids_are_never_counted(service) -> None:
    """The attack of the issue: a script posting beacons with ids of its choosing, all in one
    variant, from fresh cookie jars each time. Nothing is counted."""
    chosen = in_variant(service, "annual", 40)
    other_key = Signer("not the service's key", salt="floe.visitor-id")
    forged = [
        *chosen[:20],  # bare ids
        *(f"{v}.{'A' * 27}" for v in chosen[20:30]),  # a made-up signature
        *(other_key.sign(v).decode() for v in chosen[30:]),  # signed with another key
    ]
    for index, vid in enumerate(forged):
        client = browser(service, address=f"198.51.100.{index}", vid=vid)
        assert client.post(BEACON, headers=BROWSER).status_code == 204
    assert counted(service) == []
    # A signed id with the id swapped under its signature is forged too.
    client = browser(service)
    client.get(PAGE, headers=BROWSER)
    _, _, signature = held(client).partition(".")
    swapped = browser(service, address="192.0.2.9", vid=f"{chosen[0]}.{signature}")
    assert swapped.post(BEACON, headers=BROWSER).status_code == 204
    assert counted(service) == []


def test_one_address_gets_a_bounded_number_of_signed_ids(service_with) -> None:
    """A script keeping its cookies has each made-up id signed by the beacon (or asks the
    service for new ones), then beacons again: from one address no more than the budget of
    ids is ever counted; beyond it visitors are served as usual, with a bare id."""
    service = service_with(FLOE_VISITOR_ID_LIMIT="5 per hour", FLOE_BEACON_LIMIT="500 per hour")
    chosen = in_variant(service, "annual", 20)
    for vid in chosen:
        client = browser(service, vid=vid)
        for _ in range(3):
            assert client.post(BEACON, headers=BROWSER).status_code == 204
    assert counted(service) == [(v, "annual") for v in sorted(chosen[:5])]

    fresh = browser(service)  # the same address asking for a new id: served, not signed
    page = fresh.get(PAGE, headers=BROWSER)
    assert page.status_code == 200 and "." not in held(fresh)
    assert shown(page) == variant_of(service, held(fresh))
    assert fresh.post(BEACON, headers=BROWSER).status_code == 204
    assert fresh.post(BEACON, headers=BROWSER).status_code == 204
    assert len(counted(service)) == 5
    assigned = browser(service).get(f"/app/split/assign?exp={EXPERIMENT}", headers=BROWSER)
    assert assigned.status_code == 200 and assigned.json["variant"] in ("control", "annual")

    # Another address has a budget of its own; an IPv6 client's whole /64 shares one.
    elsewhere = browser(service, address="192.0.2.44")
    elsewhere.get(PAGE, headers=BROWSER)
    assert issued(service, held(elsewhere)).issued
    six = [browser(service, address=f"2001:db8:7:7::{i:x}") for i in range(1, 8)]
    for client in six:
        client.get(PAGE, headers=BROWSER)
    assert [issued(service, held(c)).issued for c in six] == [True] * 5 + [False] * 2


def test_the_beacon_answers_429_beyond_the_per_address_limit(service_with) -> None:
    service = service_with(FLOE_BEACON_LIMIT="4 per hour")
    visitors = [browser(service) for _ in range(6)]
    for client in visitors:
        client.get(PAGE, headers=BROWSER)
    answers = [client.post(BEACON, headers=BROWSER).status_code for client in visitors]
    assert answers == [204] * 4 + [429] * 2
    assert len(counted(service)) == 4  # the refused beacons counted nothing
    other = browser(service, address="192.0.2.200")
    other.get(PAGE, headers=BROWSER)
    assert other.post(BEACON, headers=BROWSER).status_code == 204
    assert len(counted(service)) == 5


def test_one_id_is_limited_whatever_address_it_posts_from(service_with) -> None:
    service = service_with(FLOE_BEACON_VISITOR_LIMIT="2 per hour")
    client = browser(service)
    client.get(PAGE, headers=BROWSER)
    cookie = held(client)
    answers = [
        browser(service, address=f"198.51.100.{i}", vid=cookie).post(BEACON, headers=BROWSER)
        for i in range(4)
    ]
    assert [a.status_code for a in answers] == [204, 204, 429, 429]
    assert len(counted(service)) == 1


@pytest.mark.parametrize("path", [PAGE, f"/app/split/assign?exp={EXPERIMENT}"])
def test_an_unsigned_id_of_before_keeps_its_variant_and_is_signed(service, path) -> None:
    """No running test is reshuffled: for each variant, a visitor holding a bare id gets the
    same variant and its id back signed, then counts."""
    for variant in ("control", "annual"):
        old = in_variant(service, variant, 1)[0]
        client = browser(service, vid=old)
        answer = client.get(path, headers=BROWSER)
        assert answer.status_code == 200
        assert (answer.json["variant"] if answer.is_json else shown(answer)) == variant
        assert issued(service, held(client)) == VisitorId(old, issued=True)
        assert client.get_cookie(f"floe_x_{EXPERIMENT}_{variant}", domain=TENANT_HOST)
        client.post(BEACON, headers=BROWSER)
    assert {v for _, v in counted(service)} == {"control", "annual"}


def test_the_beacon_signs_an_id_of_before_for_next_time(service) -> None:
    """A returning visitor of before is served by the edge and only reaches the service with
    its beacon: that first beacon is not counted, but signs the id; the next one counts."""
    old = LEGACY[0]
    client = browser(service, vid=old)
    assert client.post(BEACON, headers=BROWSER).status_code == 204
    assert counted(service) == []
    assert issued(service, held(client)) == VisitorId(old, issued=True)
    assert client.post(BEACON, headers=BROWSER).status_code == 204
    assert counted(service) == [(old, variant_of(service, old))]


def test_sign_up_believes_only_a_signed_id(service) -> None:
    forger = browser(service, vid=LEGACY[1])  # a bare id and an assignment cookie, no visit
    forger.set_cookie(f"floe_x_{EXPERIMENT}_annual", "1", domain=TENANT_HOST)
    assert signup(forger, email="forger@example.com").status_code == 302
    real = browser(service, address="192.0.2.50")
    real.get(PAGE, headers=BROWSER)
    visitor = issued(service, held(real)).value
    assert signup(real, email="real@example.com").status_code == 302
    with service.app_context():
        buckets = {
            User.find(email).email: [
                (a.experiment, a.variant)
                for a in db.session.scalars(
                    db.select(UserAssignment).where(UserAssignment.user_id == User.find(email).id)
                )
            ]
            for email in ("forger@example.com", "real@example.com")
        }
    assert buckets == {
        "forger@example.com": [],
        "real@example.com": [(EXPERIMENT, variant_of(service, visitor))],
    }


def test_ids_signed_with_a_retired_key_still_count(service_with) -> None:
    """A new SECRET_KEY with the old one in SECRET_KEY_FALLBACKS keeps every id counted."""
    client = browser(service_with(SECRET_KEY="k" * 40))
    client.get(PAGE, headers=BROWSER)
    cookie = held(client)
    visitor = cookie.partition(".")[0]
    new = service_with(SECRET_KEY="n" * 40, SECRET_KEY_FALLBACKS=["k" * 40])
    assert browser(new, vid=cookie).post(BEACON, headers=BROWSER).status_code == 204
    assert counted(new) == [(visitor, variant_of(new, visitor))]


def test_a_dead_limits_storage_still_serves_the_visitor(service_with) -> None:
    """Nothing answers on port 1: the visitor is served its variant all the same."""
    service = service_with(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = browser(service)
    page = client.get(PAGE, headers=BROWSER)
    assert page.status_code == 200
    assert shown(page) == variant_of(service, issued(service, held(client)).value)
    assert client.post(BEACON, headers=BROWSER).status_code == 204


@pytest.mark.parametrize(
    "name", ["FLOE_BEACON_LIMIT", "FLOE_BEACON_VISITOR_LIMIT", "FLOE_VISITOR_ID_LIMIT"]
)
def test_a_bad_limit_setting_refuses_to_start(name, tmp_path) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}='lots': a rate such as '\d+ per \w+'$"):
        load_config({name: "lots"}, str(tmp_path))
