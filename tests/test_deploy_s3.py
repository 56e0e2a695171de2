"""``build.py deploy s3`` against moto's S3 and CloudFront servers on loopback.

No test reaches the network: the clients point at moto on 127.0.0.1 (``AWS_ENDPOINT_URL``, or
``--endpoint-url``), credentials are fake and the instance-metadata lookup is disabled (the
``aws`` fixture of tests/conftest.py). Every deploy goes through the command line; its boto3
clients are the real ones, with a hook that records each S3 call in order.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from click.testing import CliRunner, Result

import build as build_cli
from floe import cache_policy as caching
from floe.errors import SourceError
from floe.tenants import load_tenants
from publish import DeployError, target
from publish.cloudfront import MAX_PATHS, invalidation_paths
from publish.site_files import alias_redirects
from tests.conftest import Project
from tests.helpers.edits import delete_post, edit_post_title

BUCKET = "tallystack-site"
NETLIFY_FILES = {"_redirects", "_headers"}
YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"
#: The page of the post tests.helpers.edits.delete_post removes (agencies only).
GONE = "blog/measuring-utilisation-with-sqlite/index.html"


@dataclass
class Calls:
    """The S3 operations the deploy's client made, in order: (operation, key)."""

    log: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, params: dict, model: Any, **_: Any) -> None:
        if model.name == "DeleteObjects":
            keys = [item["Key"] for item in params["Delete"]["Objects"]]
        else:
            keys = [params.get("Key", "")]
        with self.lock:
            self.log += [(model.name, key) for key in keys]

    def keys(self, operation: str) -> set[str]:
        return {key for name, key in self.log if name == operation}

    def operations(self) -> set[str]:
        return {name for name, _ in self.log}


@pytest.fixture
def s3(aws: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client of moto's S3, an empty bucket in it, and moto as every client's endpoint."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_CLOUDFRONT", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
    client = boto3.session.Session().client("s3")
    for name in (BUCKET, "other-site"):  # moto's state lives as long as the server: start empty
        try:
            keys = [{"Key": key} for key in objects(client, name)]
        except client.exceptions.NoSuchBucket:
            continue
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys})
        client.delete_bucket(Bucket=name)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Records the calls of the clients the command line makes."""
    recorded = Calls()
    make_clients = target.make_clients

    def recording(endpoint_url: str | None = None) -> tuple[Any, Any]:
        s3, cloudfront = make_clients(endpoint_url)
        s3.meta.events.register("before-parameter-build.s3", recorded.record)
        return s3, cloudfront

    monkeypatch.setattr(target, "make_clients", recording)
    return recorded


def deploy(project: Project, *args: str, tenant: str = "freelancers") -> Result:
    return CliRunner().invoke(
        build_cli.cli,
        ["--project", str(project.root), "deploy", "s3", "--tenant", tenant, *args],
    )


def objects(s3: Any, bucket: str = BUCKET) -> dict[str, str]:
    """Every key of the bucket with its ETag."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def set_deploy(project: Project, tenant: str, **settings: str) -> None:
    lines = [f"\n[tenants.{tenant}.deploy]"] + [f'{k} = "{v}"' for k, v in settings.items()]
    path = project.root / "site" / "tenants.toml"
    path.write_text(path.read_text() + "\n".join(lines) + "\n")


# What a browser must be told for each kind of file, written out rather than taken from
# floe.cache_policy, so that a change of policy shows here.
EXPECTED_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".png": "image/png",
}


def expected_headers(key: str) -> tuple[str, str]:
    kind = (
        "application/atom+xml; charset=utf-8"
        if key == "feed.xml"
        else EXPECTED_TYPES["." + key.rsplit(".", 1)[-1]]
    )
    return kind, YEAR if key.startswith("static/") else REVALIDATE


# -- the deploy ------------------------------------------------------------------------------


def test_first_deploy_uploads_every_file_with_its_type_and_cache_policy(
    sample: Project,
    s3: Any,
    calls: Calls,
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sample.build().exit_code == 0
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # the option alone says where S3 is
    result = deploy(sample, "--bucket", BUCKET, "--endpoint-url", aws)
    assert result.exit_code == 0, result.output

    built = sample.snapshot_of(sample.site())  # key → SHA-256
    site_files = {key: digest for key, digest in built.items() if key not in NETLIFY_FILES}
    assert set(objects(s3)) == set(site_files)  # Netlify's rule files stay home
    for key, digest in site_files.items():
        answer = s3.get_object(Bucket=BUCKET, Key=key)
        assert hashlib.sha256(answer["Body"].read()).hexdigest() == digest, key
        assert (answer["ContentType"], answer["CacheControl"]) == expected_headers(key), key
        assert answer["Metadata"] == {"sha256": digest}
    total = sum((sample.site() / key).stat().st_size for key in site_files)
    assert f"s3://{BUCKET}: uploaded 35 (35 new, 0 changed; {total:,} bytes), 0 unchanged." in (
        result.output
    )
    # The fingerprinted assets went up before any page that names them.
    puts = [key for name, key in calls.log if name == "PutObject"]
    assets = [i for i, key in enumerate(puts) if key.startswith("static/")]
    assert len(assets) == 8 and max(assets) < len(assets)


def test_renamed_posts_old_addresses_redirect(project: Project, s3: Any, calls: Calls) -> None:
    project.post("rates", aliases=["/blog/old-rates/", "/blog/older-rates", "/rates.html"])
    assert project.build().exit_code == 0
    result = deploy(project, "--bucket", BUCKET)
    assert result.exit_code == 0, result.output

    for key in ("blog/old-rates/index.html", "blog/older-rates/index.html", "rates.html"):
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["WebsiteRedirectLocation"] == "/blog/rates/"
        # The body stays the fallback page, for a CDN that reads the bucket without its
        # website endpoint (which alone answers the redirect).
        assert b'http-equiv="refresh"' in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert "WebsiteRedirectLocation" not in s3.head_object(
        Bucket=BUCKET, Key="blog/rates/index.html"
    )


def test_second_deploy_uploads_nothing_and_force_uploads_everything(
    sample: Project, s3: Any, calls: Calls
) -> None:
    assert sample.build().exit_code == 0
    assert deploy(sample, "--bucket", BUCKET).exit_code == 0
    before = objects(s3)
    calls.log.clear()

    again = deploy(sample, "--bucket", BUCKET, "--delete")
    assert again.exit_code == 0, again.output
    assert "uploaded 0 (0 new, 0 changed; 0 bytes), 35 unchanged." in again.output
    # One listing settles it: no upload, no delete, not even a HEAD per object.
    assert calls.operations() == {"ListObjectsV2"}
    assert objects(s3) == before

    calls.log.clear()
    forced = deploy(sample, "--bucket", BUCKET, "--force")
    assert forced.exit_code == 0, forced.output
    assert "uploaded 35 (0 new, 35 changed;" in forced.output
    assert calls.keys("PutObject") == set(before)


def test_an_edited_post_uploads_and_invalidates_only_the_pages_showing_it(
    sample: Project, s3: Any, calls: Calls
) -> None:
    cloudfront = boto3.session.Session().client("cloudfront")
    distribution = create_distribution(cloudfront)
    set_deploy(sample, "freelancers", s3_bucket=BUCKET, cloudfront_distribution=distribution)
    assert sample.build().exit_code == 0
    first = deploy(sample)
    assert first.exit_code == 0, first.output
    assert "invalidated" not in first.output  # only new files: nothing cached to drop
    built = sample.snapshot()
    calls.log.clear()

    edit_post_title(sample)
    assert sample.build().exit_code == 0
    result = deploy(sample)
    assert result.exit_code == 0, result.output

    changed = {
        "blog/setting-a-day-rate/index.html",  # the post
        "blog/index.html",  # the blog's first page lists it
        "blog/tag/freelancing/index.html",  # and its tags' pages
        "blog/tag/pricing/index.html",
        "blog/quarterly-tax-set-aside/index.html",  # a related post links to it by title
        "feed.xml",  # the feed carries titles (the sitemap does not)
    }
    rebuilt = {
        f.split("/", 1)[1] for f, digest in sample.snapshot().items() if built.get(f) != digest
    }
    assert rebuilt == changed  # the deploy sends what the build changed, no more
    assert calls.keys("PutObject") == changed
    assert "uploaded 6 (0 new, 6 changed;" in result.output and "29 unchanged" in result.output

    [invalidation] = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"][
        "Items"
    ]
    paths = cloudfront.get_invalidation(DistributionId=distribution, Id=invalidation["Id"])[
        "Invalidation"
    ]["InvalidationBatch"]["Paths"]["Items"]
    assert sorted(paths) == [
        "/blog/",
        "/blog/index.html",
        "/blog/quarterly-tax-set-aside/",
        "/blog/quarterly-tax-set-aside/index.html",
        "/blog/setting-a-day-rate/",
        "/blog/setting-a-day-rate/index.html",
        "/blog/tag/freelancing/",
        "/blog/tag/freelancing/index.html",
        "/blog/tag/pricing/",
        "/blog/tag/pricing/index.html",
        "/feed.xml",
    ]
    assert f"CloudFront {distribution}: 11 paths invalidated ({invalidation['Id']})." in (
        result.output
    )


def create_distribution(cloudfront: Any) -> str:
    origin = f"{BUCKET}.s3.amazonaws.com"
    answer = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": f"floe-test-{origin}",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": origin,
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return answer["Distribution"]["Id"]


def test_a_removed_posts_page_is_deleted_after_every_upload(
    sample: Project, s3: Any, calls: Calls
) -> None:
    gone = GONE
    assert sample.build().exit_code == 0
    assert deploy(sample, "--bucket", BUCKET, tenant="agencies").exit_code == 0
    delete_post(sample)
    assert sample.build().exit_code == 0
    calls.log.clear()

    result = deploy(sample, "--bucket", BUCKET, "--delete", tenant="agencies")
    assert result.exit_code == 0, result.output
    assert "uploaded 8 (0 new, 8 changed;" in result.output and "deleted 1." in result.output
    assert gone not in objects(s3)
    # The pages that linked to it, listed it or were related to it, its tags' pages, the feed
    # and the sitemap: all of them before the delete.
    assert calls.keys("PutObject") == {
        "blog/exporting-to-csv-and-spreadsheets/index.html",
        "blog/index.html",
        "blog/project-budgets-that-survive-scope-creep/index.html",
        "blog/tag/agency-ops/index.html",
        "blog/tag/engineering/index.html",
        "blog/timesheet-approvals-workflow/index.html",
        "feed.xml",
        "sitemap.xml",
    }
    writes = [op for op, _ in calls.log if op in ("PutObject", "DeleteObjects")]
    assert writes == ["PutObject"] * 8 + ["DeleteObjects"]
    assert calls.keys("DeleteObjects") == {gone}


def test_dry_run_lists_the_changes_and_makes_none(sample: Project, s3: Any, calls: Calls) -> None:
    assert sample.build().exit_code == 0
    assert deploy(sample, "--bucket", BUCKET, tenant="agencies").exit_code == 0
    before = objects(s3)
    delete_post(sample)
    assert sample.build().exit_code == 0
    calls.log.clear()

    result = deploy(sample, "--bucket", BUCKET, "--delete", "--dry-run", tenant="agencies")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  upload  blog/index.html  (changed)" in lines
    assert f"  delete  {GONE}  (not in the build)" in lines
    assert (
        f"teams.tallystack.example → s3://{BUCKET} (dry run: nothing was changed): would upload "
        "8 (0 new, 8 changed;"
    ) in result.output
    assert "24 unchanged, would delete 1." in result.output
    assert objects(s3) == before
    assert calls.operations() <= {"ListObjectsV2", "HeadObject"}  # reads only

    # Without --delete, a stale key is kept, and said so.
    kept = deploy(sample, "--bucket", BUCKET, "--dry-run", tenant="agencies")
    assert f"  keep    {GONE}  (not in the build)" in kept.output.splitlines()
    assert "24 unchanged, 1 stale kept (--delete removes it)." in kept.output
    result = deploy(sample, "--bucket", BUCKET, tenant="agencies")
    assert result.exit_code == 0 and "1 stale kept (--delete removes it)." in result.output
    assert GONE in objects(s3)


def test_objects_whose_etag_is_not_their_md5_are_compared_by_their_metadata(
    project: Project, s3: Any, calls: Calls
) -> None:
    """Multipart uploads and SSE-KMS give other ETags: the stored SHA-256 decides."""
    assert project.build().exit_code == 0
    assert deploy(project, "--bucket", BUCKET).exit_code == 0
    same, retyped = "features/index.html", "pricing/index.html"
    for key in (same, retyped):
        head = s3.head_object(Bucket=BUCKET, Key=key)
        kind = "text/plain" if key == retyped else head["ContentType"]
        upload = s3.create_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            ContentType=kind,
            CacheControl=head["CacheControl"],
            Metadata=head["Metadata"],
        )
        part = s3.upload_part(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=(project.site() / key).read_bytes(),
        )
        s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert "-" in s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
    calls.log.clear()

    result = deploy(project, "--bucket", BUCKET)
    assert result.exit_code == 0, result.output
    assert calls.keys("HeadObject") == {same, retyped}
    assert calls.keys("PutObject") == {retyped}  # same bytes, but served as the wrong type
    assert s3.head_object(Bucket=BUCKET, Key=retyped)["ContentType"] == "text/html; charset=utf-8"


# -- when it cannot go on ----------------------------------------------------------------------


def test_a_failed_upload_stops_the_deploy_before_any_delete(
    sample: Project, s3: Any, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sample.build().exit_code == 0
    assert deploy(sample, "--bucket", BUCKET).exit_code == 0
    s3.put_object(Bucket=BUCKET, Key="old/index.html", Body=b"<p>old</p>")
    edit_post_title(sample)
    assert sample.build().exit_code == 0
    denied = "blog/tag/pricing/index.html"
    recording = target.make_clients  # the calls fixture's

    def denying(endpoint_url: str | None = None) -> tuple[Any, Any]:
        client, cloudfront = recording(endpoint_url)
        client.meta.events.register("before-send.s3.PutObject", deny(denied))
        return client, cloudfront

    monkeypatch.setattr(target, "make_clients", denying)
    calls.log.clear()

    result = deploy(sample, "--bucket", BUCKET, "--delete")
    assert result.exit_code == 1
    assert (
        f"error: Uploading pages: s3://{BUCKET}/{denied}: AccessDenied: Access Denied. The "
        "credentials need s3:ListBucket"
    ) in result.output
    assert "nothing was deleted. Deploy again once it is fixed." in result.output
    assert "DeleteObjects" not in calls.operations()
    assert "old/index.html" in objects(s3)


def deny(key: str) -> Callable[..., AWSResponse | None]:
    """A before-send hook: the server answers 403 Access Denied for ``key``, as S3 does for a
    bucket policy that forbids writing it."""
    body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        if request.url.split("?")[0].endswith("/" + key):
            return AWSResponse(request.url, 403, {}, Raw())
        return None

    return hook


def fake_build(project: Project) -> None:
    """A built site as far as the deploy's checks go, where the build itself is not the point."""
    project.site().mkdir(parents=True)
    (project.site() / "index.html").write_text("<p>home</p>")


def test_missing_bucket_is_one_clear_line(project: Project, s3: Any) -> None:
    fake_build(project)
    result = deploy(project, "--bucket", "other-site")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "error: s3://other-site: NoSuchBucket: The specified bucket does not exist. Check the "
        "bucket's name, region and endpoint."
    )


def test_a_failed_invalidation_says_the_site_is_deployed_and_what_to_do(
    project: Project, s3: Any
) -> None:
    set_deploy(project, "freelancers", s3_bucket=BUCKET, cloudfront_distribution="EMISSING42")
    fake_build(project)
    s3.put_object(Bucket=BUCKET, Key="index.html", Body=b"<p>an older home</p>")
    result = deploy(project)
    assert result.exit_code == 1
    assert (
        f"error: s3://{BUCKET}: uploaded 1 (0 new, 1 changed; 11 bytes), 0 unchanged. But "
        "invalidating 2 paths on CloudFront distribution EMISSING42 failed: NoSuchDistribution: "
    ) in result.output
    assert "invalidate them in the CloudFront console" in result.output
    assert s3.get_object(Bucket=BUCKET, Key="index.html")["Body"].read() == b"<p>home</p>"


def test_no_credentials_is_one_clear_line(
    project: Project, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_build(project)
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    result = deploy(project, "--bucket", BUCKET)
    assert result.exit_code == 1
    assert f"error: s3://{BUCKET}: no AWS credentials found: set AWS_ACCESS_KEY_ID" in (
        result.output
    )


def test_settings_that_are_missing_say_where_to_set_them(project: Project) -> None:
    unbuilt = deploy(project, "--bucket", BUCKET)
    assert unbuilt.exit_code == 1
    assert "holds no built site: run python build.py --tenant freelancers first" in (unbuilt.output)

    fake_build(project)
    no_bucket = deploy(project)
    assert no_bucket.exit_code == 1
    assert (
        "error: no S3 bucket for tenant 'freelancers': set s3_bucket in "
        "[tenants.freelancers.deploy] of site/tenants.toml, or pass --bucket"
    ) in no_bucket.output

    no_distribution = deploy(project, "--bucket", BUCKET, "--invalidate")
    assert no_distribution.exit_code == 1
    assert "--invalidate: no CloudFront distribution for tenant 'freelancers': set " in (
        no_distribution.output
    )
    unknown = deploy(project, tenant="hobbyists")
    assert unknown.exit_code == 2 and "no tenant named 'hobbyists'" in unknown.output


# -- the settings ------------------------------------------------------------------------------


def test_deploy_settings_are_read_and_checked(project: Project) -> None:
    path = project.root / "site" / "tenants.toml"
    original = path.read_text()
    set_deploy(project, "freelancers", s3_bucket="tally-site", cloudfront_distribution="E2QWRUHA")
    tenants = load_tenants(path, display_path="site/tenants.toml")
    assert tenants["freelancers"].deploy.s3_bucket == "tally-site"
    assert tenants["freelancers"].deploy.cloudfront_distribution == "E2QWRUHA"
    assert tenants["agencies"].deploy.s3_bucket is None

    path.write_text(original)
    set_deploy(project, "agencies", s3_bucket="Teams_Site", cloudfront_distribution="d1.net")
    path.write_text(path.read_text() + "region = 'eu-west-1'\n")
    with pytest.raises(SourceError) as caught:
        load_tenants(path, display_path="site/tenants.toml")
    last = len(path.read_text().splitlines())  # s3_bucket, cloudfront_distribution, region
    assert [str(p) for p in caught.value.problems] == [
        f"site/tenants.toml:{last - 2}: tenants.agencies.deploy.s3_bucket: "
        "'Teams_Site' is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and "
        "hyphens, like tallystack-site)",
        f"site/tenants.toml:{last - 1}: "
        "tenants.agencies.deploy.cloudfront_distribution: 'd1.net' is not a CloudFront "
        "distribution id (the ID column of the CloudFront console, like E2QWRUHAPOMQZL)",
        f"site/tenants.toml:{last}: tenants.agencies.deploy.region: unknown key "
        "(known keys: s3_bucket, cloudfront_distribution)",
    ]


def test_setting_where_a_site_deploys_rebuilds_no_page(project: Project) -> None:
    assert project.build().exit_code == 0
    set_deploy(project, "freelancers", s3_bucket=BUCKET)
    result = project.build()
    assert result.exit_code == 0 and result.output.count("(0 written, ") == 2, result.output


# -- the parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "cache_control"),
    [
        ("/index.html", "text/html; charset=utf-8", REVALIDATE),
        ("/feed.xml", "application/atom+xml; charset=utf-8", REVALIDATE),
        ("/sitemap-2.xml", "application/xml; charset=utf-8", REVALIDATE),
        ("/robots.txt", "text/plain; charset=utf-8", REVALIDATE),
        ("/_redirects", "text/plain; charset=utf-8", REVALIDATE),
        ("/site.webmanifest", "application/manifest+json; charset=utf-8", REVALIDATE),
        ("/static/js/app.0123456789.js", "text/javascript; charset=utf-8", YEAR),
        ("/static/fonts/inter.0123456789.woff2", "font/woff2", YEAR),
        ("/static/img/logo.0123456789.SVG", "image/svg+xml; charset=utf-8", YEAR),
        ("/static/img/photo.0123456789.webp", "image/webp", YEAR),
        ("/static/files/data.0123456789.bin", "application/octet-stream", YEAR),
    ],
)
def test_each_kind_of_file_is_served_with_its_type_and_policy(
    path: str, content_type: str, cache_control: str
) -> None:
    assert caching.served(path) == caching.Served(content_type, cache_control)


def test_every_file_cached_for_a_year_carries_its_content_hash(sample_build: Project) -> None:
    """What makes a year's cache safe: a changed file gets a new name."""
    for tenant in ("freelancers", "agencies"):
        built = sample_build.snapshot_of(sample_build.site(tenant))
        cached = {key for key in built if caching.cache_control("/" + key) == YEAR}
        assert len(cached) == 8  # the CSS bundle, two scripts, five images
        for key in cached:
            assert f".{built[key][:10]}." in key, key


def test_invalidation_paths_cover_pretty_urls_and_stay_under_cloudfronts_limit() -> None:
    assert invalidation_paths(
        ["index.html", "pricing@annual/index.html", "blog/café/index.html"]
    ) == [
        "/",
        "/blog/caf%C3%A9/",
        "/blog/caf%C3%A9/index.html",
        "/index.html",
        "/pricing@annual/",
        "/pricing@annual/index.html",
    ]
    many = [f"blog/post-{n}/index.html" for n in range(MAX_PATHS // 2)]
    assert len(invalidation_paths(many)) == MAX_PATHS
    assert invalidation_paths([*many, "feed.xml"]) == ["/*"]


def test_a_redirect_rule_the_deploy_cannot_follow_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>home</p>")
    (tmp_path / "_redirects").write_text("# generated\n/blog/old/  /blog/new/  301!\n")
    with pytest.raises(DeployError, match=r"_redirects:2: the build has no page at /blog/old/"):
        alias_redirects(tmp_path)
    (tmp_path / "_redirects").write_text("/blog/old/ 301\n")
    with pytest.raises(DeployError, match=r"_redirects:1: not a rule Floe writes"):
        alias_redirects(tmp_path)
