"""Forwarded headers are believed only from the edge: with FLOE_TRUSTED_PROXIES set, a request
must carry CloudFront's (or nginx's) X-Floe-Edge-Secret or Netlify's signed X-Nf-Sign for its
X-Forwarded-For and X-Forwarded-Host to count; without, it is served as if it came directly."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import jwt
import pytest

from dynamic import create_app
from dynamic.core.config import ConfigError, load_config
from tests.conftest import REPO, TENANT_HOST, dispose_service, migrated_service, production
from tests.helpers.accounts import csrf_token

EDGE_SECRET = "edge-secret-for-tests-" + "x" * 24
NETLIFY_SECRET = "netlify-signing-secret-for-tests-" + "y" * 16
PROOF = {
    "FLOE_TRUSTED_PROXIES": 2,
    "FLOE_EDGE_SECRET": (EDGE_SECRET,),
    "FLOE_NETLIFY_SIGNING_SECRET": (NETLIFY_SECRET,),
}
OTHER_SITE = "teams.tallystack.example"


def netlify_signature(secret: str = NETLIFY_SECRET, *, minutes: float = 5, **claims) -> str:
    """An X-Nf-Sign as Netlify makes it (netlify-cli's sign-redirect: HS256, iss netlify,
    expiring in five minutes, the site's id, URL and deploy context)."""
    now = dt.datetime.now(dt.UTC)
    payload = {
        "deploy_context": "production",
        "netlify_id": "0b4c0e3a-0000-4000-8000-000000000000",
        "site_url": f"https://{TENANT_HOST}",
        "iss": "netlify",
        "iat": now,
        "exp": now + dt.timedelta(minutes=minutes),
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, "HS256")


def forged(host: str = OTHER_SITE, address: str = "203.0.113.9") -> dict[str, str]:
    """What a client straight at the origin writes: the edge's and nginx's values."""
    return {
        "Host": TENANT_HOST,
        "X-Forwarded-For": f"{address}, 198.51.100.7",
        "X-Forwarded-Host": f"{host}, app.tallystack.example",
        "X-Forwarded-Proto": "https, https",
    }


@pytest.fixture
def service():
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", **PROOF})


def tenant_of(service, headers: dict[str, str]) -> str | None:
    answer = service.test_client().get("/app/health", headers=headers)
    return answer.get_json()["tenant"] if answer.status_code == 200 else None


def test_a_forged_forwarded_host_without_proof_does_not_pick_the_tenant(service) -> None:
    assert tenant_of(service, forged()) == "freelancers"  # the Host header's, not the forged
    wrong = {**forged(), "X-Floe-Edge-Secret": EDGE_SECRET[:-1] + "!"}
    assert tenant_of(service, wrong) == "freelancers"
    # Straight to the origin under its own name, no site is named at all.
    assert tenant_of(service, {**forged(), "Host": "app.tallystack.example"}) is None


def test_the_edge_secret_makes_forwarded_headers_believed(service) -> None:
    assert tenant_of(service, {**forged(), "X-Floe-Edge-Secret": EDGE_SECRET}) == "agencies"


def test_a_current_netlify_signature_makes_forwarded_headers_believed(service) -> None:
    assert tenant_of(service, {**forged(), "X-Nf-Sign": netlify_signature()}) == "agencies"


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(netlify_signature(minutes=-5), id="expired"),
        pytest.param(netlify_signature("another secret of enough length, x"), id="other-secret"),
        pytest.param(netlify_signature(iss="someone-else"), id="other-issuer"),
        pytest.param(netlify_signature(iss=None), id="no-issuer"),
        pytest.param(netlify_signature(exp=None), id="no-expiry"),
        pytest.param(
            jwt.encode({"iss": "netlify", "exp": 9999999999}, key=None, algorithm="none"),
            id="unsigned",
        ),
        pytest.param(netlify_signature()[:-3] + "abc", id="tampered"),
        pytest.param("not a jwt", id="garbage"),
    ],
)
def test_an_invalid_netlify_signature_is_refused(service, signature: str) -> None:
    assert tenant_of(service, {**forged(), "X-Nf-Sign": signature}) == "freelancers"


def test_the_edge_secret_goes_no_further_than_the_check(service) -> None:
    seen = {}

    @service.get("/app/test-edge-headers")
    def headers_seen():
        from flask import request

        seen.update(request.headers)
        return ""

    service.test_client().get(
        "/app/test-edge-headers", headers={**forged(), "X-Floe-Edge-Secret": EDGE_SECRET}
    )
    assert "X-Floe-Edge-Secret" not in seen and seen["Host"] == OTHER_SITE


@pytest.fixture
def login_service(database_url: str):
    service = migrated_service(database_url, **PROOF)
    yield service
    dispose_service(service)


def login_statuses(service, extra: dict[str, str]) -> list[int]:
    """15 failed logins, each from a different forged address and for a different account
    (so only the per-address limit can stop them)."""
    client = service.test_client()
    statuses = []
    for attempt in range(15):
        headers = {**forged(TENANT_HOST, f"203.0.113.{attempt + 1}"), **extra}
        token = csrf_token(client, "/app/login")
        data = {"csrf_token": token, "email": f"nobody{attempt}@example.com", "password": "x"}
        statuses.append(client.post("/app/login", headers=headers, data=data).status_code)
    return statuses


def test_a_forged_forwarded_for_does_not_escape_the_login_limit(login_service) -> None:
    statuses = login_statuses(login_service, {})
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429] * 5  # one address: the real peer's


def test_behind_the_edge_each_visitor_has_a_limit_of_their_own(login_service) -> None:
    statuses = login_statuses(login_service, {"X-Floe-Edge-Secret": EDGE_SECRET})
    assert statuses == [400] * 15


def test_without_proof_configured_development_believes_the_proxies() -> None:
    service = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "FLOE_TRUSTED_PROXIES": 2})
    assert tenant_of(service, forged()) == "agencies"


def test_production_behind_proxies_refuses_to_start_without_proof(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no proof of the edge"):
        load_config({**production(tmp_path), "FLOE_TRUSTED_PROXIES": "2"}, str(tmp_path))
    load_config(production(tmp_path), str(tmp_path))  # no proxies: nothing forwarded believed
    config = load_config(
        {
            **production(tmp_path),
            "FLOE_TRUSTED_PROXIES": "2",
            "FLOE_EDGE_SECRET": f"{EDGE_SECRET},new-{EDGE_SECRET}",
        },
        str(tmp_path),
    )
    assert config["FLOE_EDGE_SECRET"] == (EDGE_SECRET, f"new-{EDGE_SECRET}")  # rotation


@pytest.mark.parametrize("name", ["FLOE_EDGE_SECRET", "FLOE_NETLIFY_SIGNING_SECRET"])
def test_production_refuses_a_short_edge_secret(tmp_path: Path, name: str) -> None:
    environ = {**production(tmp_path), "FLOE_TRUSTED_PROXIES": "2", name: "short"}
    with pytest.raises(ConfigError, match=re.escape(f"{name}: each value 32 characters")):
        load_config(environ, str(tmp_path))


def test_cloudfront_sends_the_edge_secret_from_a_hidden_parameter() -> None:
    from tests.helpers.browser import require

    try:
        from cfnlint.decode import cfn_yaml
    except ImportError:
        require("cfn-lint is not installed (pip install -e '.[test]')")
    stack = cfn_yaml.load(str(REPO / "ops" / "cloudfront.yaml"))
    secret = stack["Parameters"]["EdgeSecret"]
    assert secret["NoEcho"] is True and "Default" not in secret and secret["MinLength"] >= 32
    origins = stack["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]
    (app,) = [origin for origin in origins if origin["Id"] == "app"]
    assert app["OriginCustomHeaders"] == [
        {"HeaderName": "X-Floe-Edge-Secret", "HeaderValue": {"Ref": "EdgeSecret"}}
    ]


def test_nginx_adds_the_proof_only_from_a_file_outside_the_repository() -> None:
    conf = (REPO / "ops" / "nginx" / "floe-dynamic.conf").read_text()
    assert "include /etc/floe/nginx-edge-secret*.conf;" in conf
    assert not re.search(r"^\s*proxy_set_header X-Floe-Edge-Secret", conf, re.MULTILINE)
