"""Netlify: the one netlify.toml builds and publishes the site of the tenant its Netlify site
names (FLOE_TENANT), refuses clearly without one, and each tenant's generated ``_redirects``
and ``_headers`` say what Netlify must do for that tenant and nothing else."""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import ClassVar

import lxml.html
import pytest
import yaml
from werkzeug.test import Client

from floe.security_headers import SECURITY_HEADERS
from publish import netlify_headers as headers
from tests.conftest import REPO, Project
from tests.helpers.netlify import TENANTS, checkout, parse_redirects, repository_files
from tests.helpers.stack import Stack

NETLIFY = tomllib.loads((REPO / "netlify.toml").read_text())
YEAR = "public, max-age=31536000, immutable"


def run(command: str, root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``command`` as Netlify runs it, in ``root``, with a site's environment. FLOE_PYTHON is
    this interpreter, which has the dependencies: nothing is installed (no network)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    return subprocess.run(
        ["bash", "-c", command],
        cwd=root,
        env={**clean, "FLOE_PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def canonical(page: Path) -> str:
    [href] = lxml.html.parse(str(page)).getroot().xpath("//link[@rel='canonical']/@href")
    return href


def test_netlify_toml_builds_with_a_python_floe_supports() -> None:
    wanted = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert wanted.startswith(">=")
    version = NETLIFY["build"]["environment"]["PYTHON_VERSION"]
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    assert as_tuple(version) >= as_tuple(wanted.removeprefix(">="))


def test_the_build_command_publishes_the_site_its_tenant_names(tmp_path: Path) -> None:
    """One checkout built for each tenant in turn, as two Netlify sites would: each time the
    publish folder holds exactly that tenant's site, and nothing of the one before."""
    root = checkout(tmp_path)
    publish = root / NETLIFY["build"]["publish"]
    for key, tenant in TENANTS.items():
        done = run(NETLIFY["build"]["command"], root, FLOE_TENANT=key)
        assert done.returncode == 0, done.stdout + done.stderr
        assert canonical(publish / "index.html") == f"https://{tenant.domain}/"
        built = root / "build" / tenant.domain
        assert not publish.is_symlink() and not [p for p in publish.rglob("*") if p.is_symlink()]
        files = sorted(p.relative_to(publish) for p in publish.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
        for name in files:
            assert (publish / name).read_bytes() == (built / name).read_bytes(), name
        rules = (publish / "_redirects").read_text().splitlines()
        assert rules[-1] == f"/app/*  {tenant.dynamic_origin}/app/:splat  200"
        assert (publish / "_headers").is_file()
        assert f"tenant {key}" in done.stdout
    # The last tenant built does not run the split test of the first: its variant is gone.
    assert not (publish / "pricing@annual").exists()


def test_deploy_previews_show_drafts_and_production_does_not(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    Project(root).post("a-draft-for-review", draft="true", title="A draft for review")
    publish = root / NETLIFY["build"]["publish"]
    draft = publish / "blog" / "a-draft-for-review" / "index.html"

    preview = run(NETLIFY["context"]["deploy-preview"]["command"], root, FLOE_TENANT="agencies")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert draft.is_file()
    production = run(NETLIFY["build"]["command"], root, FLOE_TENANT="agencies")
    assert production.returncode == 0, production.stdout + production.stderr
    assert not draft.exists() and (publish / "index.html").is_file()


@pytest.fixture(scope="module")
def untouched_checkout(tmp_path_factory) -> Path:
    """A checkout for the failing runs: each must fail before writing anything."""
    return checkout(tmp_path_factory.mktemp("netlify"))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {},
            "error: FLOE_TENANT is not set: set it to the tenant this site serves, one of: "
            + ", ".join(TENANTS),
        ),
        (
            {"FLOE_TENANT": ""},
            "error: FLOE_TENANT is not set: set it to the tenant this site serves, one of: "
            + ", ".join(TENANTS),
        ),
        (
            {"FLOE_TENANT": "Freelancers"},
            "error: FLOE_TENANT='Freelancers' is not a tenant of site/tenants.toml "
            f"(known: {', '.join(TENANTS)})",
        ),
    ],
)
def test_a_site_without_a_known_tenant_fails_before_building(
    untouched_checkout: Path, setting: dict[str, str], message: str
) -> None:
    done = run(NETLIFY["build"]["command"], untouched_checkout, **setting)
    assert done.returncode == 2
    assert done.stderr.strip() == message
    assert done.stdout == ""
    assert not (untouched_checkout / "build").exists()


def test_a_broken_tenants_file_is_reported_with_its_line(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    tenants = root / "site" / "tenants.toml"
    tenants.write_text(tenants.read_text().replace('domain = "tallystack.example"', "domain ="))
    done = run(NETLIFY["build"]["command"], root, FLOE_TENANT="freelancers")
    assert done.returncode == 2
    assert done.stderr.startswith("error: site/tenants.toml:")
    assert "invalid TOML" in done.stderr
    assert not (root / "build").exists()


# --- what each tenant's site tells Netlify ----------------------------------------------------


def test_each_tenant_proxies_app_to_its_own_dynamic_origin(sample: Project) -> None:
    """With a service per tenant, each site's rules reach its own: Netlify's parser reads
    every rule, aliases come first, split tests next, and the /app/* proxy last."""
    tenants = sample.root / "site" / "tenants.toml"
    text = tenants.read_text()
    at = text.index("[tenants.agencies]")
    agencies = text[at:].replace(
        'dynamic_origin = "https://app.tallystack.example"',
        'dynamic_origin = "https://app.teams.tallystack.example"',
    )
    tenants.write_text(text[:at] + agencies)
    result = sample.build()
    assert result.exit_code == 0, result.output
    origins = {
        "freelancers": "https://app.tallystack.example",
        "agencies": "https://app.teams.tallystack.example",
    }
    for key, origin in origins.items():
        site = sample.site(key)
        parsed = parse_redirects(site / "_redirects")
        assert parsed["errors"] == []
        rules = parsed["redirects"]
        assert rules[-1]["from"] == "/app/*"
        assert (rules[-1]["to"], rules[-1]["status"], rules[-1]["proxy"]) == (
            f"{origin}/app/:splat",
            200,
            True,
        )
        kinds = [
            "app" if r["from"] == "/app/*" else "alias" if r["status"] == 301 else "split"
            for r in rules
        ]
        kinds = [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]
        assert kinds in (["alias", "split", "app"], ["alias", "app"], ["split", "app"], ["app"])
        for rule in rules:
            if rule["proxy"]:
                assert rule["to"].startswith(origin + "/app/"), rule
            else:  # a page of this site, which exists
                target = rule["to"].strip("/")
                page = site / target if target.endswith(".html") else site / target / "index.html"
                assert page.is_file(), rule


def test_renamed_posts_redirect_over_their_fallback_page(sample_build: Project) -> None:
    """A renamed post's old address holds a fallback page, which would shadow an unforced rule:
    Netlify reads each alias rule as forced, and its edge (emulated) answers 301, not the page."""
    site = sample_build.site()
    parsed = parse_redirects(site / "_redirects")
    aliases = [r for r in parsed["redirects"] if r["status"] == 301]
    assert [(r["from"], r["to"]) for r in aliases] == [
        ("/blog/chasing-late-payments/", "/blog/late-invoice-follow-ups/"),
        ("/blog/csv-export-guide/", "/blog/exporting-to-csv-and-spreadsheets/"),
    ]
    edge = Client(Stack(sample_build.out, service=None))
    for rule in aliases:
        assert rule["force"] is True, rule
        assert (site / rule["from"].strip("/") / "index.html").is_file()  # the fallback page
        answer = edge.get(rule["from"], base_url=f"https://{site.name}")
        assert (answer.status_code, answer.headers["Location"]) == (301, rule["to"])


@pytest.mark.parametrize("key", list(TENANTS))
def test_headers_secure_every_file_and_cache_only_assets_for_long(
    sample_build: Project, key: str
) -> None:
    site = sample_build.site(key)
    rules = headers.parse((site / "_headers").read_text())
    assert rules[0] == ("/*", list(SECURITY_HEADERS.items()))
    assets = [p for p in (site / "static").rglob("*") if p.is_file()]
    assert assets
    for asset in assets:
        served = headers.for_path(site, "/" + asset.relative_to(site).as_posix())
        assert served == {**SECURITY_HEADERS, "Cache-Control": YEAR}, asset
    for page in ("/", "/blog/", "/pricing/", "/feed.xml", "/sitemap.xml"):
        # Pages keep Netlify's default (revalidate on every visit): a deploy shows at once.
        assert headers.for_path(site, page) == SECURITY_HEADERS, page


def test_header_rules_refuse_a_header_outside_a_path() -> None:
    with pytest.raises(ValueError, match="_headers:2: not a header under a path"):
        headers.parse("# a comment\n  X-Frame-Options: DENY\n/*\n")
    with pytest.raises(ValueError, match="_headers:2: not a header under a path"):
        headers.parse("/*\n  no colon here\n")


# --- the daily rebuild ------------------------------------------------------------------------

WORKFLOW = REPO / ".github" / "workflows" / "scheduled-build.yml"


def workflow_job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["netlify"]


def test_a_daily_job_rebuilds_every_tenants_site() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as true
    [schedule] = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month, weekday) == ("*", "*", "*") and minute.isdigit() and hour.isdigit()
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {}  # it needs no access to the repository
    assert workflow_job()["strategy"]["matrix"]["tenant"] == list(TENANTS)


class Hook(http.server.BaseHTTPRequestHandler):
    """A stand-in for Netlify's build hook endpoint: records each request."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        self.received.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def run_step(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The workflow's step, as GitHub's runner runs a ``run:`` block."""
    [step] = workflow_job()["steps"]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_daily_job_posts_to_the_build_hook_of_its_secret() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hook.received.clear()
    try:
        hook = f"http://127.0.0.1:{server.server_port}/build_hooks/0123456789abcdef"
        done = run_step({"HOOK": hook, "TENANT": "agencies"})
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert done.returncode == 0, done.stdout + done.stderr
    assert Hook.received == [
        (
            "POST",
            "/build_hooks/0123456789abcdef?trigger_title=Daily+rebuild+for+scheduled+posts",
            b"{}",
        )
    ]


def test_the_daily_job_fails_clearly_without_its_secret() -> None:
    done = run_step({"HOOK": "", "TENANT": "agencies"})
    assert done.returncode == 1
    assert done.stdout.strip() == (
        "::error::No secret NETLIFY_BUILD_HOOK_AGENCIES: add the build hook URL of the "
        "agencies site"
    )


def test_no_build_hook_url_is_in_the_repository() -> None:
    hook = re.compile(r"api\.netlify\.com/build_hooks/[0-9a-f]{20,}")
    for name in repository_files():
        if name.suffix not in (".png", ".jpg", ".ico", ".woff2"):
            assert not hook.search((REPO / name).read_text(errors="replace")), name
