"""The sample content builds into one complete site per tenant."""

from __future__ import annotations

import lxml.html
import pytest

from tests.conftest import TODAY, Project
from tests.helpers.sample_corpus import corpus

TENANTS = ("freelancers", "agencies")


def built_post_slugs(site) -> set[str]:
    """Post pages of a built site (not pagination, tags, or fallback pages of renamed posts)."""
    blog = site / "blog"
    return {
        p.parent.name
        for p in blog.glob("*/index.html")
        if p.parent.name not in ("page", "tag") and 'http-equiv="refresh"' not in p.read_text()
    }


def post_links(html_file) -> list[str]:
    doc = lxml.html.parse(str(html_file)).getroot()
    return [a.get("href") for a in doc.cssselect(".post-list h2 a")]


@pytest.mark.parametrize("tenant", TENANTS)
def test_each_tenant_has_exactly_its_published_posts(sample_build: Project, tenant: str) -> None:
    posts = corpus().posts
    live = {p.slug for p in posts if tenant in p.tenants and p.is_live(TODAY)}
    assert len(live) >= 6
    assert built_post_slugs(sample_build.site(tenant)) == live
    others = {p.slug for p in posts if tenant not in p.tenants}
    assert others, "the sample content should have posts for one tenant only"
    assert not others & built_post_slugs(sample_build.site(tenant))


def test_sample_content_has_what_the_issue_asks_for() -> None:
    posts = corpus().posts
    assert len(posts) >= 12
    assert any(p.draft for p in posts)
    assert any(p.date > TODAY for p in posts)
    assert any(len(p.tenants) == 2 for p in posts) and any(len(p.tenants) == 1 for p in posts)
    uses: dict[str, int] = {}
    for post in posts:
        for name in post.snippets:
            uses[name] = uses.get(name, 0) + 1
    assert sum(1 for n in uses.values() if n >= 2) >= 3
    languages = {
        lang
        for p in posts
        for lang in ("python", "javascript", "bash", "sql")
        if f"```{lang}" in p.body
    }
    assert len(languages) >= 3


def test_drafts_and_future_posts_only_with_drafts_flag(sample: Project) -> None:
    posts = corpus().posts
    draft = next(p for p in posts if p.draft)
    future = next(p for p in posts if p.date > TODAY)
    assert sample.build().exit_code == 0
    for post in (draft, future):
        tenant = post.tenants[0]
        assert not (sample.site(tenant) / "blog" / post.slug).exists()
    result = sample.build("--drafts")
    assert result.exit_code == 0, result.output
    for post in (draft, future):
        page = sample.site(post.tenants[0]) / "blog" / post.slug / "index.html"
        assert post.title.split()[0] in page.read_text()


def test_future_post_appears_on_its_date(sample: Project) -> None:
    future = next(p for p in corpus().posts if p.date > TODAY and not p.draft)
    assert sample.build(today=future.date).exit_code == 0
    assert (sample.site(future.tenants[0]) / "blog" / future.slug / "index.html").is_file()


@pytest.mark.parametrize("tenant", TENANTS)
def test_tag_pages_list_exactly_their_posts(sample_build: Project, tenant: str) -> None:
    live = [p for p in corpus().posts if tenant in p.tenants and p.is_live(TODAY)]
    expected: dict[str, set[str]] = {}
    for post in live:
        for tag in post.tags:
            expected.setdefault(tag, set()).add(f"/blog/{post.slug}/")
    tag_dir = sample_build.site(tenant) / "blog" / "tag"
    assert {p.name for p in tag_dir.iterdir()} == set(expected)
    for tag, urls in expected.items():
        assert set(post_links(tag_dir / tag / "index.html")) == urls


def test_snippets_expand_nested_too(sample_build: Project) -> None:
    site = sample_build.site("freelancers")
    page = (site / "blog" / "python-time-entries" / "index.html").read_text()
    # api-quickstart includes api-auth, which shows the bearer header.
    assert "Authorization: Bearer" in page
    assert "{% snippet" not in page
    for html in site.rglob("*.html"):
        assert "{% snippet" not in html.read_text(), html


def test_markdown_features(sample_build: Project) -> None:
    page = (sample_build.site() / "blog" / "setting-a-day-rate" / "index.html").read_text()
    doc = lxml.html.fromstring(page)
    assert doc.cssselect("nav.toc li a[href^='#']"), "table of contents"
    assert doc.cssselect("h2[id] a.anchor"), "heading anchors"
    assert doc.cssselect("div.footnote li[id^='fn']") or doc.cssselect("table")
    code = (sample_build.site() / "blog" / "python-time-entries" / "index.html").read_text()
    assert '<div class="highlight">' in code and '<span class="k">' in code  # Pygments


def test_links_between_posts_resolve_per_tenant(sample_build: Project) -> None:
    posts = {p.stem: p for p in corpus().posts}
    for tenant in TENANTS:
        for html in (sample_build.site(tenant) / "blog").rglob("index.html"):
            assert "floe-post:" not in html.read_text()
    # A link from a shared post to a freelancers-only post leaves the agencies site for its home.
    freelancers_only = {p.slug for p in posts.values() if p.tenants == ("freelancers",)}
    agencies = sample_build.site("agencies")
    cross = [
        a.get("href")
        for html in agencies.rglob("*.html")
        for a in lxml.html.parse(str(html)).getroot().iter("a")
        if any(f"/blog/{slug}/" in (a.get("href") or "") for slug in freelancers_only)
    ]
    assert cross and all(h.startswith("https://tallystack.example/blog/") for h in cross)


def test_landing_pages_and_404(sample_build: Project) -> None:
    for tenant in TENANTS:
        site = sample_build.site(tenant)
        for page in ("index.html", "pricing/index.html", "features/index.html"):
            assert (site / page).is_file()
        not_found = (site / "404.html").read_text()
        assert "Page not found" in not_found and 'href="/static/css/site.' in not_found


def test_tenant_template_override_wins(sample_build: Project) -> None:
    agencies = (sample_build.site("agencies") / "index.html").read_text()
    freelancers = (sample_build.site("freelancers") / "index.html").read_text()
    assert "built for studios of 5 to 50 people" in agencies
    assert "built for studios of 5 to 50 people" not in freelancers


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_internal_link_resolves_to_a_built_file(sample_build: Project, tenant: str) -> None:
    """Walk the output as a crawler would: each internal href and src must be a file."""
    from urllib.parse import unquote, urljoin, urlsplit

    site = sample_build.site(tenant)
    domain = site.name
    checked = 0
    for html in site.rglob("*.html"):
        rel = html.relative_to(site).as_posix()
        base = f"https://{domain}/" + (
            rel[: -len("index.html")] if rel.endswith("index.html") else rel
        )
        doc = lxml.html.parse(str(html)).getroot()
        for element in doc.iter():
            for attr in ("href", "src"):
                value = element.get(attr)
                if value is None or value.startswith(("#", "mailto:")):
                    continue
                url = urlsplit(urljoin(base, value))
                if url.hostname != domain or url.path.startswith("/app/"):
                    continue
                path = unquote(url.path)
                target = site / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
                assert target.is_file(), f"{rel}: {attr}={value!r} does not resolve"
                checked += 1
    assert checked > 100


def test_builds_are_reproducible(sample: Project) -> None:
    assert sample.build().exit_code == 0
    first = sample.snapshot()
    assert sample.build().exit_code == 0
    assert sample.snapshot() == first


def test_rebuild_leaves_no_stale_file(sample: Project) -> None:
    added = sample.post("short-lived", tags=["ephemera"])
    assert sample.build().exit_code == 0
    assert (sample.site() / "blog" / "short-lived" / "index.html").is_file()
    added.unlink()
    assert sample.build().exit_code == 0
    assert not (sample.site() / "blog" / "short-lived").exists()
    assert not (sample.site() / "blog" / "tag" / "ephemera").exists()
    assert not any(p.name.startswith(".staging") for p in sample.out.iterdir())


def test_build_one_tenant(sample: Project) -> None:
    result = sample.build("--tenant", "agencies")
    assert result.exit_code == 0, result.output
    assert sample.site("agencies").is_dir() and not sample.site("freelancers").exists()
    result = sample.build("--tenant", "nobody")
    assert result.exit_code == 1 and "no tenant named 'nobody'" in result.output
