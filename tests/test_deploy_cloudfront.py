"""S3 behind CloudFront: ops/cloudfront.yaml passes cfn-lint, sends exactly the security
headers of the sites' ``_headers``, keeps split-test first views out of the shared cache, and
its edge function (run in Node.js with the build's own rules) routes as Netlify's edge does:
renamed posts, pretty URLs, and each visitor of a page under test to the variant of its
cookie, or to the service when it has none."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dynamic.split_tests.assignment import VISITOR_COOKIE
from floe.security_headers import SECURITY_HEADERS
from publish import cloudfront
from publish import netlify_headers as headers
from renderer.views.variant_pages import FORCE
from tests.conftest import REPO, Project
from tests.helpers.browser import node_json, require
from tests.helpers.netlify import TENANTS, checkout

TEMPLATE = REPO / "ops" / "cloudfront.yaml"
HOST = "tallystack.example"
EXPERIMENT = "pricing-annual-first"
#: CloudFront Functions' limit on a function's code.
CODE_LIMIT = 10 * 1024


def template() -> dict:
    try:
        from cfnlint.decode import cfn_yaml
    except ImportError:
        require("cfn-lint is not installed (moto[server] brings it: pip install -e '.[test]')")
    return cfn_yaml.load(str(TEMPLATE))


def resource(name: str) -> dict:
    return template()["Resources"][name]["Properties"]


def test_the_template_passes_cfn_lint() -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    if cfn_lint is None:
        require("cfn-lint is not installed (moto[server] brings it: pip install -e '.[test]')")
    done = subprocess.run([cfn_lint, str(TEMPLATE)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def as_headers(policy: dict) -> dict[str, str]:
    """The headers a ResponseHeadersPolicy adds, as CloudFront writes them."""
    security = policy["SecurityHeadersConfig"]
    added = {}
    if "StrictTransportSecurity" in security:
        hsts = security["StrictTransportSecurity"]
        added["Strict-Transport-Security"] = (
            f"max-age={hsts['AccessControlMaxAgeSec']}"
            + ("; includeSubDomains" if hsts.get("IncludeSubdomains") else "")
            + ("; preload" if hsts.get("Preload") else "")
        )
    if "ContentSecurityPolicy" in security:
        csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        added["Content-Security-Policy"] = csp
    if "ContentTypeOptions" in security:
        added["X-Content-Type-Options"] = "nosniff"
    if "ReferrerPolicy" in security:
        added["Referrer-Policy"] = security["ReferrerPolicy"]["ReferrerPolicy"]
    if "FrameOptions" in security:
        added["X-Frame-Options"] = security["FrameOptions"]["FrameOption"]
    for item in policy.get("CustomHeadersConfig", {}).get("Items", []):
        added[item["Header"]] = item["Value"]
    return added


def test_security_headers_are_those_of_the_sites_headers_file(sample_build: Project) -> None:
    site = resource("SiteHeadersPolicy")["ResponseHeadersPolicyConfig"]
    assert as_headers(site) == SECURITY_HEADERS
    for key in ("freelancers", "agencies"):
        rules = dict(headers.parse((sample_build.site(key) / "_headers").read_text()))
        assert as_headers(site) == dict(rules["/*"])
    # They replace whatever an origin sent, as Netlify's _headers do.
    overrides = [v["Override"] for v in site["SecurityHeadersConfig"].values()]
    overrides += [item["Override"] for item in site["CustomHeadersConfig"]["Items"]]
    assert all(overrides)
    # The service's answers get the domain's HSTS, and keep their own other headers.
    app = resource("AppHeadersPolicy")["ResponseHeadersPolicyConfig"]
    assert as_headers(app) == {
        "Strict-Transport-Security": SECURITY_HEADERS["Strict-Transport-Security"]
    }


def behaviours() -> dict[str, dict]:
    config = resource("Distribution")["DistributionConfig"]
    found = {"default": config["DefaultCacheBehavior"]}
    found.update({b["PathPattern"]: b for b in config["CacheBehaviors"]})
    return found


def test_https_only_and_nothing_of_the_service_shared_between_visitors() -> None:
    found = behaviours()
    assert set(found) == {"default", "/app/*"}
    assert found["default"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert found["/app/*"]["ViewerProtocolPolicy"] == "https-only"
    # The service never goes through a cache; the site's cache follows the objects' own
    # Cache-Control from 0 seconds up, so the service's "no-store" split-test answers, which
    # come through the site's behaviour, are never kept for another visitor.
    assert found["/app/*"]["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    site_cache = resource("SiteCachePolicy")["CachePolicyConfig"]
    assert site_cache["MinTTL"] == 0 and site_cache["DefaultTTL"] == 0
    keyed = site_cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keyed["CookiesConfig"] == {"CookieBehavior": "none"}
    # What the service reads on a first view reaches it: the visitor id and the preview.
    forwarded = resource("SiteOriginRequestPolicy")["OriginRequestPolicyConfig"]
    assert forwarded["CookiesConfig"]["Cookies"] == [VISITOR_COOKIE]
    assert forwarded["QueryStringsConfig"]["QueryStrings"] == [FORCE]
    for behaviour in found.values():
        [association] = behaviour["FunctionAssociations"]
        assert association["EventType"] == "viewer-request"
    origins = {o["Id"]: o for o in resource("Distribution")["DistributionConfig"]["Origins"]}
    assert origins["app"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert "OriginAccessControlId" in origins["site"]


# --- the edge function, run in Node.js -------------------------------------------------------

IMPORT = "import cf from 'cloudfront';"
#: CloudFront's module replaced by a recorder of the origin the function picks.
RECORDER = "const picked = []; const cf = { selectRequestOriginById: (id) => picked.push(id) };"
HARNESS = """
const events = JSON.parse(process.argv[2]);
const answers = events.map((event) => {
  picked.length = 0;
  const result = handler(event);
  return { result, origin: picked.length ? picked[picked.length - 1] : "site" };
});
process.stdout.write(JSON.stringify(answers));
"""


def function_code(rules: str) -> str:
    """The function as CloudFront runs it with the EdgeRules parameter ``rules``."""
    code = resource("EdgeFunction")["FunctionCode"]["Fn::Sub"]
    assert code.count("${") == 1, "only ${EdgeRules} is substituted"
    return code.replace("${EdgeRules}", rules)


def run_function(rules: str, events: list[dict], tmp_path: Path) -> list[dict]:
    if shutil.which("node") is None:
        require("Node.js is not installed (it runs the CloudFront function in the tests)")
    code = function_code(rules)
    assert code.startswith(IMPORT + "\n")  # runtime 2.0 wants the import first
    script = tmp_path / "edge.mjs"
    script.write_text(code.replace(IMPORT, RECORDER, 1) + HARNESS)
    return node_json(script, json.dumps(events))


def event(uri: str, query: dict | None = None, cookies: tuple[str, ...] = (), host=HOST) -> dict:
    return {
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": {k: {"value": v} for k, v in (query or {}).items()},
            "headers": {"host": {"value": host}},
            "cookies": {name: {"value": "1"} for name in cookies},
        }
    }


def routed(answer: dict) -> tuple[str, str]:
    """Where a request went: (origin, path)."""
    return answer["origin"], answer["result"]["uri"]


def redirected(answer: dict) -> tuple[int, str]:
    result = answer["result"]
    return result["statusCode"], result["headers"]["location"]["value"]


def test_the_edge_routes_each_visitor_as_netlifys_edge_does(
    sample_build: Project, tmp_path: Path
) -> None:
    rules = cloudfront.parameters(sample_build.site())["EdgeRules"]
    cookie = f"floe_x_{EXPERIMENT}_"
    cases = {
        "first view": event("/pricing/"),
        "annual": event("/pricing/", cookies=(cookie + "annual", "floe_vid")),
        "control": event("/pricing/", cookies=(cookie + "control",)),
        "outside": event("/pricing/", cookies=(cookie + "none",)),
        "preview": event("/pricing/", {FORCE: f"{EXPERIMENT}:annual"}),
        "renamed": event("/blog/chasing-late-payments/", {"utm_source": "mail"}),
        "pretty": event("/blog/"),
        "home": event("/"),
        "no slash": event("/blog"),
        "asset": event("/static/css/site.0123abcd.css"),
        "service": event("/app/api/me", cookies=("session",)),
    }
    answers = dict(zip(cases, run_function(rules, list(cases.values()), tmp_path), strict=True))

    assert routed(answers["first view"]) == ("app", "/app/split/page/pricing/")
    assert routed(answers["annual"]) == ("site", "/pricing@annual/index.html")
    assert routed(answers["control"]) == ("site", "/pricing/index.html")
    assert routed(answers["outside"]) == ("site", "/pricing/index.html")
    assert routed(answers["preview"]) == ("app", "/app/split/page/pricing/")
    assert answers["preview"]["result"]["querystring"] == {FORCE: {"value": f"{EXPERIMENT}:annual"}}
    assert redirected(answers["renamed"]) == (301, "/blog/late-invoice-follow-ups/?utm_source=mail")
    assert routed(answers["pretty"]) == ("site", "/blog/index.html")
    assert routed(answers["home"]) == ("site", "/index.html")
    assert redirected(answers["no slash"]) == (301, "/blog/")
    assert routed(answers["asset"]) == ("site", "/static/css/site.0123abcd.css")
    assert routed(answers["service"]) == ("site", "/app/api/me")  # its behaviour's origin
    for name in ("first view", "annual", "pretty", "service"):
        sent = answers[name]["result"]["headers"]
        assert sent["x-forwarded-host"] == {"value": HOST}, name
    # Every file a rule serves is in the build.
    site = sample_build.site()
    for name in ("annual", "control", "pretty", "home"):
        assert (site / answers[name]["result"]["uri"].lstrip("/")).is_file(), name


def test_a_site_without_split_tests_serves_its_own_pages(
    sample_build: Project, tmp_path: Path
) -> None:
    rules = cloudfront.parameters(sample_build.site("agencies"))["EdgeRules"]
    [answer] = run_function(rules, [event("/pricing/", host="teams.tallystack.example")], tmp_path)
    assert routed(answer) == ("site", "/pricing/index.html")


def test_the_parameters_come_from_the_built_site(sample_build: Project) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "publish.cloudfront", str(sample_build.site())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["Domain", "AppOriginDomain", "EdgeRules"]
    assert lines[:2] == ["Domain=tallystack.example", "AppOriginDomain=app.tallystack.example"]
    rules = json.loads(lines[2].split("=", 1)[1])
    assert [r[0] for r in rules] == [
        "/blog/chasing-late-payments/",
        "/blog/csv-export-guide/",
        *["/pricing/"] * 5,
    ]
    assert " " not in lines[2]  # one word for the shell
    # The longest rules a parameter takes still fit CloudFront's limit on a function.
    assert len(function_code("0" * cloudfront.PARAMETER_LIMIT).encode()) <= CODE_LIMIT


def write_rules(tmp_path: Path, *lines: str) -> Path:
    site = tmp_path / "tallystack.example"
    site.mkdir()
    app = "/app/*  https://app.tallystack.example/app/:splat  200"
    (site / "_redirects").write_text("\n".join([*lines, app]) + "\n")
    return site


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ["/old/*  /new/:splat  301!"],
            "_redirects:1: /old/*: the edge function applies exact paths only",
        ),
        (
            ["/gone/  /404.html  404"],
            "_redirects:1: status 404: the edge function answers 200, 301, 302",
        ),
        (
            ["/pricing/  https://elsewhere.example/app/split/page/pricing/  200!"],
            "_redirects:1: https://elsewhere.example/app/split/page/pricing/ is not on the "
            "/app/* origin",
        ),
        (
            ["/blog/old/  /blog/new/  301"],
            "_redirects:1: /blog/old/: not forced (write 301!): the edge function cannot see the "
            "bucket's files",
        ),
        (["/fr/  /fr/index.html  200!  Country=fr"], "_redirects:1: not a rule Floe writes"),
        (
            [f"/blog/old-{n:04d}/  /blog/new-{n:04d}/  301!" for n in range(120)],
            "more than the 4096 of a CloudFormation parameter",
        ),
    ],
)
def test_rules_the_edge_cannot_apply_are_refused(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        cloudfront.parameters(write_rules(tmp_path, *lines))
    assert message in str(refused.value)


def test_a_folder_that_is_not_a_built_site_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "publish.cloudfront", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    expected = f"error: {tmp_path}: no _redirects here: give the folder of a built site\n"
    assert done.stderr == expected
    assert done.stdout == ""
    without_app = write_rules(tmp_path, "/a/  /b/  301!")
    (without_app / "_redirects").write_text("/a/  /b/  301!\n")
    with pytest.raises(ValueError, match=r"no single /app/\* proxy to the dynamic service"):
        cloudfront.parameters(without_app)


# --- the daily publish (ops/cron/floe runs ops/s3-publish.sh) ---------------------------

BUCKETS = {"freelancers": "floe-publish-freelancers", "agencies": "floe-publish-agencies"}


def keys(s3, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_the_daily_publish_puts_every_tenants_site_live(tmp_path: Path, aws: str) -> None:
    import boto3

    root = checkout(tmp_path)
    tenants = root / "site" / "tenants.toml"
    tables = "".join(
        f'\n[tenants.{key}.deploy]\ns3_bucket = "{bucket}"\n' for key, bucket in BUCKETS.items()
    )
    tenants.write_text(tenants.read_text() + tables)
    today = dt.date.today()
    project = Project(root)
    project.post("out-today", date=today.isoformat(), tenants=["agencies"])
    project.post("out-tomorrow", date=(today + dt.timedelta(days=1)).isoformat())
    s3 = boto3.session.Session().client("s3", endpoint_url=aws)
    for bucket in BUCKETS.values():  # moto's server lives as long as this module: no others
        s3.create_bucket(Bucket=bucket)

    done = subprocess.run(
        ["bash", "ops/s3-publish.sh"],
        cwd=root,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("FLOE_")},
            "FLOE_PYTHON": sys.executable,
            "AWS_ENDPOINT_URL": aws,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for key, bucket in BUCKETS.items():
        site = root / "build" / TENANTS[key].domain
        built = {
            p.relative_to(site).as_posix()
            for p in site.rglob("*")
            if p.is_file() and p.name not in ("_redirects", "_headers")
        }
        assert keys(s3, bucket) == built, key
    agencies = keys(s3, BUCKETS["agencies"])
    assert "blog/out-today/index.html" in agencies
    assert "blog/out-tomorrow/index.html" not in agencies  # goes live with tomorrow's run
    assert "blog/out-today/index.html" not in keys(s3, BUCKETS["freelancers"])
