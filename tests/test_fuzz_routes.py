"""No input gives a 500, on SQLite and PostgreSQL alike, and a refused request changes no data.

The fuzz sends random bytes, huge numbers, NULs and over-long strings to every route of the
service (read from its URL map: a new route is fuzzed as it is added), in the path, the query
string and the form fields each view reads (learnt by watching the views), as an anonymous
visitor, a user and an admin, with valid CSRF tokens so the forms' handlers run; and validly
signed Stripe events with fields that cannot be stored. Before it, the regressions of the
cases that answered 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.payments.models import CheckoutSession, Payment, StripeCustomer
from tests.conftest import dispose_service, migrated_service
from tests.helpers.accounts import HOST, login, signup
from tests.helpers.route_fuzz import (
    BREAKERS,
    ROLES,
    DataGuard,
    Target,
    Visitor,
    encode_pairs,
    forget_reads,
    hostile_bytes,
    names_read,
    path_value,
    plain_value,
    targets,
    visitors,
    watch_reads,
)
from tests.helpers.stripe_stub import (
    charge,
    checkout_session,
    dispute,
    event,
    invoice,
    invoice_payment,
    signature,
    subscription,
)

#: Each example sends a request to every route, for every role: a few examples cover a lot.
ROUTE_EXAMPLES = 6
WEBHOOK_EXAMPLES = 200


def fuzz_settings(examples: int) -> settings:
    """Deterministic (the same examples every run), no deadline (requests vary in time), and
    bounded, so the suite stays fast."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        # No shrinking: an example is a round of every route; the failure names its request.
        phases=(Phase.explicit, Phase.generate),
        # One migrated service per database for all examples (reset only when data changed).
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture
def service(database_url, tmp_path):
    """The service on a migrated database, rate limits off (so every handler is reached), the
    local payment routes on (no Stripe key), nothing built (split-test pages answer 404)."""
    app = migrated_service(
        database_url, RATELIMIT_ENABLED=False, FLOE_BUILD_DIR=str(tmp_path / "no-build")
    )
    yield app
    dispose_service(app)


def _admin(app, client, email="root@example.com"):
    assert signup(client, email=email).status_code == 302
    with app.app_context():
        User.find(email).is_admin = True
        db.session.commit()
    fresh = app.test_client()
    assert login(fresh, email=email).status_code == 302
    return fresh


# --- the cases that answered 500 -----------------------------------------------------------------


def test_an_admin_list_page_out_of_range_is_not_found(service):
    admin = _admin(service, service.test_client())
    for path in ("/app/admin/", "/app/admin/payments"):
        for page in ("99999999999999999999", str(2**31), "0", "-1", "two"):
            response = admin.get(path, query_string={"page": page}, headers=HOST)
            assert response.status_code == 404, f"{path}?page={page}: {response.text[:300]}"
            assert "whole number" in response.text
        assert admin.get(path, query_string={"page": "1"}, headers=HOST).status_code == 200


def test_a_nul_in_the_admin_search_is_refused(service):
    admin = _admin(service, service.test_client())
    response = admin.get("/app/admin/", query_string="q=%00", headers=HOST)
    assert response.status_code == 400
    assert "NUL" in response.text and "q" in response.text
    # Longer than any email: refused too, identically on both databases.
    long = admin.get("/app/admin/", query_string={"q": "a" * 321}, headers=HOST)
    assert long.status_code == 400
    found = admin.get("/app/admin/", query_string={"q": "root@"}, headers=HOST)
    assert found.status_code == 200 and "root@example.com" in found.text


def test_a_nul_session_id_on_the_payment_result_page_is_refused(service):
    client = service.test_client()
    signup(client)
    with service.app_context():
        user = User.find("ada@example.com")
        db.session.add(CheckoutSession(id="cs_1", user_id=user.id, plan="x", tenant="freelancers"))
        db.session.commit()
    response = client.get("/app/pay/success", query_string="session_id=%00", headers=HOST)
    assert response.status_code == 400
    assert "session_id" in response.text
    too_long = client.get("/app/pay/success", query_string={"session_id": "c" * 256}, headers=HOST)
    assert too_long.status_code == 400
    assert client.get("/app/pay/success?session_id=cs_2", headers=HOST).status_code == 404


def test_a_nul_in_a_form_is_refused_before_its_handler(service):
    """The guard refuses it before CSRF and the view: the form page, with a message."""
    client = service.test_client()
    response = client.post("/app/login", data={"email": "a\x00@example.com"}, headers=HOST)
    assert response.status_code == 400
    assert "NUL" in response.text and "email" in response.text
    assert client.get("/app/verify/ab%00cd", headers=HOST).status_code == 404


def test_the_guard_keeps_legitimate_input(service):
    """Non-ASCII, punctuation and control-free text of every kind still reaches the forms."""
    client = service.test_client()
    password = "pässwörd ☃ ½ — 10+ % & = ?"
    assert signup(client, email="zoë@example.com", password=password).status_code == 302
    fresh = service.test_client()
    assert login(fresh, email="zoë@example.com", password=password).status_code == 302
    assert fresh.get("/app/pay/checkout?plan=%C3%A9", headers=HOST).status_code == 404


def _deliver(app, client, evt):
    from dynamic.payments.stripe_client import webhook_secret

    payload = json.dumps(evt)
    with app.app_context():
        secret = webhook_secret()
    return client.post(
        "/app/pay/webhook",
        data=payload,
        headers={
            **HOST,
            "Content-Type": "application/json",
            "Stripe-Signature": signature(payload, secret),
        },
    )


#: Validly signed events with a field no column can hold (or no object where one is due).
UNSTORABLE = {
    "long-session-id": event("checkout.session.completed", checkout_session("cs_" + "x" * 300)),
    "long-intent": event(
        "checkout.session.completed", checkout_session(payment_intent="pi_" + "9" * 300)
    ),
    "nul-session-id": event("checkout.session.completed", checkout_session("cs_\x00")),
    "huge-amount": event("checkout.session.completed", checkout_session(amount=2**31)),
    "long-event-id": event("charge.refunded", charge(), ident="evt_" + "e" * 300),
    "long-event-type": event("x" * 200, charge()),
    "event-time-out-of-range": event("charge.refunded", charge(), created=10**14),
    "long-dispute-reason": event("charge.dispute.created", {**dispute(), "reason": "r" * 65}),
    "reason-not-text": event("charge.dispute.created", {**dispute(), "reason": 7}),
    "parent-not-an-object": event("invoice.paid", {**invoice(), "parent": "sub_1"}),
    "huge-user-reference": event(
        "charge.refunded", {**charge(), "metadata": {"floe_user_id": "9" * 30}}
    ),
}


def test_a_signed_event_that_cannot_be_stored_is_refused_whole(service, caplog):
    """On PostgreSQL these answered 500; on SQLite some were stored. Refused on both, with
    nothing recorded, so Stripe retries them (see dynamic/payments/webhooks.py)."""
    guard = DataGuard(service)
    guard.keep()
    client = service.test_client()
    for case, evt in UNSTORABLE.items():
        caplog.clear()
        response = _deliver(service, client, evt)
        # A reference that is no user of ours is only unknown: recorded without a user.
        if evt["data"]["object"].get("metadata", {}).get("floe_user_id"):
            assert response.status_code == 200, f"{case}: {response.text}"
            with service.app_context():
                assert db.session.scalars(db.select(Payment.user_id)).all() == [None]
            guard.restore()
            continue
        assert response.status_code == 400, f"{case}: {response.text}"
        assert guard.changes() == {}, case
        # Authentic but refused: an error for the operator to look at (Stripe retries it).
        refused = [r for r in caplog.records if "stripe webhook refused" in r.getMessage()]
        assert refused and refused[-1].levelname == "ERROR", case


def test_an_unsigned_or_unreadable_body_is_only_a_warning(service, caplog):
    """Refused as before, but not reported as an authentic event the service could not store."""
    client = service.test_client()
    for body in (b"\xff\xfe", b'{"id": "evt_1"}'):
        caplog.clear()
        response = client.post(
            "/app/pay/webhook",
            data=body,
            headers={**HOST, "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=0"},
        )
        assert response.status_code == 400
        refused = [r for r in caplog.records if "stripe webhook refused" in r.getMessage()]
        assert [r.levelname for r in refused] == ["WARNING"], body


# --- the fuzz ---------------------------------------------------------------------------------------


def _request(app, visitor, target: Target, path_values, pairs, with_token=True):
    """One request of ``visitor``: the pairs in the query string, and in the form of a POST
    (with the visitor's CSRF token under every name the view reads it by)."""
    query = encode_pairs(pairs)
    headers = {**HOST, "Cookie": f"session={visitor.cookie}"}
    body = None
    if target.method != "GET":
        form = list(pairs)
        if with_token:
            tokens = [
                n for n in names_read(target.endpoint, target.method) if n.endswith("csrf_token")
            ]
            form += [(name, visitor.token.encode()) for name in tokens or ["csrf_token"]]
        body = encode_pairs(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    client = app.test_client(use_cookies=False)
    try:
        return client.open(
            target.path(path_values),
            method=target.method,
            query_string=query,
            data=body,
            headers=headers,
        )
    except Exception as error:  # TESTING propagates what would be a 500
        what = f"{visitor.role} {target.method} {target.path(path_values)}?{query[:500]}"
        raise AssertionError(f"{what} [{body and body[:500]}]: raised {error!r}") from error


def _check(guard: DataGuard, response, what: str) -> None:
    """No 500; a refused request changed nothing; an accepted one is undone for the next."""
    assert response.status_code < 500 or response.status_code in (502, 503), (
        f"{what}: {response.status_code}\n{response.get_data(as_text=True)[:2000]}"
    )
    if 400 <= response.status_code < 500:
        changes = guard.changes()
        assert not changes, f"{what}: refused with {response.status_code} but changed {changes}"
    elif guard.changes():
        guard.restore()


def _warm_up(app, guard, people, routes) -> None:
    """Every route once per role with plain values: learns the names each view reads (so the
    fuzz sends them), and must not answer 500 either."""
    for target in routes:
        values = {name: plain_value(converter) for name, converter, _ in target.placeholders}
        for role in ROLES:
            response = _request(app, people[role], target, values, [("fuzz", b"1")])
            _check(guard, response, f"{role} {target.method} {target.rule} (plain)")
            names = names_read(target.endpoint, target.method)
            if names:  # again with every name it reads, so that a form's handler runs
                pairs = [(n, b"1") for n in names if not n.endswith("csrf_token")]
                response = _request(app, people[role], target, values, pairs)
                _check(guard, response, f"{role} {target.method} {target.rule} {names}")


@dataclass
class Fuzzing:
    app: Flask
    guard: DataGuard
    people: dict[str, Visitor]
    routes: list[Target]

    def __repr__(self) -> str:  # Hypothesis prints it with a failing example
        return f"<the service, {len(self.routes)} routes>"


@pytest.fixture
def fuzzed(service) -> Fuzzing:
    """The service with its visitors, their data kept as the baseline, and the routes learnt."""
    forget_reads()
    watch_reads(service)
    people = visitors(service)
    guard = DataGuard(service)
    guard.keep()
    routes = targets(service)
    assert any(t.endpoint == "pay.webhook" for t in routes), "the URL map has no webhook"
    _warm_up(service, guard, people, routes)
    return Fuzzing(service, guard, people, routes)


def test_every_field_of_every_route_takes_the_known_breakers(fuzzed):
    """Systematically, besides the random examples: each field each view reads, and each
    placeholder of its path, with a NUL, a number past any integer column and an over-long
    string, the others plain, as an admin (who reaches every view)."""
    app, guard, admin = fuzzed.app, fuzzed.guard, fuzzed.people["admin"]
    for target in fuzzed.routes:
        plain = {name: plain_value(converter) for name, converter, _ in target.placeholders}
        names = [
            n for n in names_read(target.endpoint, target.method) if not n.endswith("csrf_token")
        ]
        for breaker in BREAKERS:
            for name in [*plain, *names]:
                values = {**plain, name: breaker} if name in plain else plain
                pairs = [(n, breaker if n == name else b"1") for n in names]
                response = _request(app, admin, target, values, pairs)
                _check(
                    guard,
                    response,
                    f"admin {target.method} {target.path(values)} {name}={breaker[:20]!r}",
                )


@fuzz_settings(ROUTE_EXAMPLES)
@given(data=st.data())
def test_no_route_answers_500_to_hostile_input(fuzzed, data):
    app, guard, people, routes = fuzzed.app, fuzzed.guard, fuzzed.people, fuzzed.routes
    for target in routes:
        for role in ROLES:
            values = {
                name: data.draw(path_value(converter), label=name)
                for name, converter, _ in target.placeholders
            }
            names = [*names_read(target.endpoint, target.method), "fuzz"]
            pairs = [
                (name, data.draw(hostile_bytes(), label=name))
                for name in names
                if not name.endswith("csrf_token") and data.draw(st.integers(0, 3)) > 0
            ]
            with_token = data.draw(st.integers(0, 9)) > 0
            response = _request(app, people[role], target, values, pairs, with_token)
            _check(guard, response, f"{role} {target.method} {target.path(values)} {pairs!r:.500}")


# --- signed webhooks with fields that cannot be stored ---------------------------------------------


@pytest.fixture
def webhook_guard(service) -> DataGuard:
    """The service with a user and their Stripe customer (cus_1, as the events say)."""
    with service.app_context():
        user = User(email="ada@example.com", tenant="freelancers", password_hash="!")
        db.session.add(user)
        db.session.flush()
        db.session.add(StripeCustomer(id="cus_1", user_id=user.id))
        db.session.commit()
    guard = DataGuard(service)
    guard.keep()
    return guard


_EVENTS = [
    ("checkout.session.completed", checkout_session),
    ("checkout.session.expired", checkout_session),
    ("invoice.paid", invoice),
    ("invoice.payment_failed", lambda: invoice(paid=False, reason="subscription_cycle")),
    ("invoice_payment.paid", invoice_payment),
    ("charge.refunded", charge),
    ("charge.dispute.created", dispute),
    ("customer.subscription.updated", subscription),
    ("some.event.we.ignore", charge),
]

_JSON_HOSTILE = st.one_of(
    st.sampled_from(
        [None, True, 0, -1, 2**31, 2**63, 10**30, 1e308, "", "\x00", "a\x00", [], {}, {"id": None}]
    ),
    st.integers(min_value=256, max_value=2000).map(lambda n: "s" * n),
    st.text(max_size=30),
    st.integers(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


def _mutate(data, obj: dict, depth: int = 0) -> None:
    """Replace one field of ``obj`` (maybe nested) with a hostile value."""
    key = data.draw(st.sampled_from(sorted(obj)), label="field")
    inner = obj[key]
    if isinstance(inner, dict) and inner and depth < 3 and data.draw(st.booleans()):
        _mutate(data, inner, depth + 1)
    else:
        obj[key] = data.draw(_JSON_HOSTILE, label=key)


@fuzz_settings(WEBHOOK_EXAMPLES)
@given(data=st.data())
def test_no_signed_event_answers_500_or_is_stored_in_part(webhook_guard, data):
    app, guard = webhook_guard.app, webhook_guard
    kind, build = data.draw(st.sampled_from(_EVENTS), label="event")
    evt = event(kind, build())
    for _ in range(data.draw(st.integers(1, 3))):
        obj = evt["data"]["object"] if isinstance(evt.get("data"), dict) else None
        top = not isinstance(obj, dict) or not obj or data.draw(st.integers(0, 4)) == 0
        _mutate(data, evt if top else obj)
    try:
        response = _deliver(app, app.test_client(use_cookies=False), evt)
    except Exception as error:  # TESTING propagates what would be a 500
        raise AssertionError(f"webhook {json.dumps(evt)[:1500]}: raised {error!r}") from error
    _check(guard, response, f"webhook {json.dumps(evt)[:1500]}")
    assert response.status_code in (200, 400), response.text
