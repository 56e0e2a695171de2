"""What search engines and feed readers get from each tenant's site."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import lxml.html
import pytest
from lxml import etree

from renderer.views import crawler_files as seo
from tests.conftest import TODAY, Project

TENANTS = {"freelancers": "tallystack.example", "agencies": "teams.tallystack.example"}
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def html_pages(site: Path) -> dict[str, lxml.html.HtmlElement]:
    """Every built HTML page by the URL it is served at."""
    pages = {}
    for file in sorted(site.rglob("*.html")):
        rel = file.relative_to(site).as_posix()
        url = "/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)
        pages[url] = lxml.html.parse(str(file)).getroot()
    return pages


def canonical(doc) -> list[str]:
    return [link.get("href") for link in doc.xpath("//head/link[@rel='canonical']")]


def jsonld(doc) -> list[dict]:
    return [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]


def sitemap_urls(site: Path) -> list[str]:
    tree = etree.fromstring((site / "sitemap.xml").read_bytes())
    return tree.xpath("//s:url/s:loc/text()", namespaces=SITEMAP_NS)


@pytest.mark.parametrize("tenant", TENANTS)
def test_sitemap_lists_exactly_the_indexable_pages(sample_build: Project, tenant: str) -> None:
    site, domain = sample_build.site(tenant), TENANTS[tenant]
    tree = etree.fromstring((site / "sitemap.xml").read_bytes())  # parses, or raises
    assert tree.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    urls = sitemap_urls(site)
    assert len(urls) == len(set(urls))
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.netloc == domain, url
    # Indexable = a built page whose canonical URL is itself.
    indexable = {
        f"https://{domain}{path}"
        for path, doc in html_pages(site).items()
        if canonical(doc) == [f"https://{domain}{path}"]
    }
    assert set(urls) == indexable
    for lastmod in tree.xpath("//s:lastmod/text()", namespaces=SITEMAP_NS):
        dt.date.fromisoformat(lastmod)


@pytest.mark.parametrize("tenant", TENANTS)
def test_sitemap_lastmod_comes_from_updated_or_date(sample_build: Project, tenant: str) -> None:
    from tests.helpers.sample_corpus import corpus

    tree = etree.fromstring((sample_build.site(tenant) / "sitemap.xml").read_bytes())
    lastmods = {
        url.findtext("s:loc", namespaces=SITEMAP_NS): url.findtext(
            "s:lastmod", namespaces=SITEMAP_NS
        )
        for url in tree.xpath("//s:url", namespaces=SITEMAP_NS)
    }
    checked = 0
    for post in corpus().posts:
        url = f"https://{TENANTS[tenant]}{post.url}"
        if url in lastmods:
            assert lastmods[url] == (post.updated or post.date).isoformat()
            checked += 1
    assert checked >= 4


def test_robots_names_the_sitemap_and_keeps_crawlers_out_of_app(sample_build: Project) -> None:
    robots = (sample_build.site("agencies") / "robots.txt").read_text()
    assert "Sitemap: https://teams.tallystack.example/sitemap.xml" in robots
    assert "Disallow: /app/" in robots.splitlines()


@pytest.mark.parametrize("tenant", TENANTS)
def test_feed_is_valid_atom_with_absolute_links_to_built_pages(
    sample_build: Project, tenant: str
) -> None:
    from tests.helpers.sample_corpus import corpus

    site, domain = sample_build.site(tenant), TENANTS[tenant]
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    live = [p for p in corpus().posts if tenant in p.tenants and p.is_live(TODAY)]
    assert len(feed.entries) == min(20, len(live))
    pages = html_pages(site)
    ids = set()
    for entry, post in zip(feed.entries, live, strict=False):  # newest first, like the blog
        parts = urlsplit(entry.link)
        assert parts.scheme == "https" and parts.netloc == domain
        assert parts.path == post.url and parts.path in pages
        assert entry.published.startswith(post.date.isoformat())
        assert entry.updated.startswith((post.updated or post.date).isoformat())
        ids.add(entry.id)
        content = entry.content[0].value
        assert "<h2" in content  # full content, not a summary
        for link in lxml.html.fragment_fromstring(content, create_parent="div").iterlinks():
            if not link[2].startswith(("#", "mailto:")):
                assert urlsplit(link[2]).scheme == "https", link[2]
    assert len(ids) == len(feed.entries)
    # Every page links the feed from its head.
    for doc in pages.values():
        assert doc.xpath("//head/link[@rel='alternate'][@type='application/atom+xml']/@href") == [
            f"https://{domain}/feed.xml"
        ]


def test_feed_ids_are_stable_across_builds(sample: Project) -> None:
    assert sample.build().exit_code == 0
    first = (sample.site() / "feed.xml").read_bytes()
    sample.post("brand-new", date="2026-11-20")
    assert sample.build().exit_code == 0
    old = {e.id for e in feedparser.parse(first).entries}
    new = {e.id for e in feedparser.parse((sample.site() / "feed.xml").read_bytes()).entries}
    assert len(new - old) == 1  # only the new post's id is new


def test_a_post_on_both_tenants_has_one_canonical_home(sample_build: Project) -> None:
    from tests.helpers.sample_corpus import corpus

    shared = [p for p in corpus().posts if len(p.tenants) == 2 and p.is_live(TODAY)]
    homes = {p.canonical_tenant for p in shared}
    assert homes == {"freelancers", "agencies"}, "the sample has shared posts homed on each side"
    for post in shared:
        home = post.canonical_tenant
        other = next(t for t in TENANTS if t != home)
        canonical_url = f"https://{TENANTS[home]}{post.url}"
        for tenant in TENANTS:
            doc = lxml.html.parse(
                str(sample_build.site(tenant) / post.url.strip("/") / "index.html")
            )
            assert canonical(doc.getroot()) == [canonical_url]
        assert canonical_url in sitemap_urls(sample_build.site(home))
        assert f"https://{TENANTS[other]}{post.url}" not in sitemap_urls(sample_build.site(other))


def test_canonical_tenant_defaults_to_the_first_listed(project: Project) -> None:
    project.post("shared", tenants=["agencies", "freelancers"])
    assert project.build().exit_code == 0
    for tenant in TENANTS:
        doc = lxml.html.parse(str(project.site(tenant) / "blog" / "shared" / "index.html"))
        assert canonical(doc.getroot()) == ["https://teams.tallystack.example/blog/shared/"]


def test_alias_redirects_with_301_and_a_fallback_page(sample_build: Project) -> None:
    site = sample_build.site("freelancers")
    rules = [
        line.split()
        for line in (site / "_redirects").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    # Forced (!): on Netlify the fallback page at the same path would shadow an unforced rule.
    assert ["/blog/chasing-late-payments/", "/blog/late-invoice-follow-ups/", "301!"] in rules
    fallback = lxml.html.parse(
        str(site / "blog" / "chasing-late-payments" / "index.html")
    ).getroot()
    refresh = fallback.xpath("//meta[@http-equiv='refresh']/@content")
    assert refresh == ["0; url=/blog/late-invoice-follow-ups/"]
    assert canonical(fallback) == ["https://tallystack.example/blog/late-invoice-follow-ups/"]
    # The proxy to the dynamic service comes after the aliases.
    assert rules[-1] == ["/app/*", "https://app.tallystack.example/app/:splat", "200"]


def test_alias_of_an_existing_page_is_an_error(project: Project) -> None:
    project.post("one", aliases=["/pricing/"])
    result = project.build()
    assert result.exit_code == 1
    assert (
        "content/posts/one.md: aliases: /pricing/ is the address of a page that exists"
        in result.output
    )


REQUIRED_POSTING = (
    "headline",
    "description",
    "datePublished",
    "dateModified",
    "author",
    "image",
    "mainEntityOfPage",
)


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_page_has_title_description_canonical_and_valid_jsonld(
    sample_build: Project, tenant: str
) -> None:
    from tests.helpers.sample_corpus import corpus

    site, domain = sample_build.site(tenant), TENANTS[tenant]
    posts = {p.url: p for p in corpus().posts}
    for path, doc in html_pages(site).items():
        titles = doc.xpath("//head/title/text()")
        descriptions = doc.xpath("//head/meta[@name='description']/@content")
        assert len(titles) == 1 and titles[0].strip(), path
        assert len(descriptions) == 1 and 50 <= len(descriptions[0]) <= 160, (path, descriptions)
        data = jsonld(doc)  # json.loads raises on invalid JSON
        if path == "/404.html":
            assert canonical(doc) == [] and doc.xpath("//meta[@name='robots']/@content") == [
                "noindex"
            ]
            continue
        assert len(canonical(doc)) == 1, path
        assert urlsplit(canonical(doc)[0]).scheme == "https"
        if doc.xpath("//meta[@http-equiv='refresh']"):
            continue  # the fallback page of a renamed post: a redirect, not a page to share
        assert doc.xpath("//meta[@property='og:title']/@content") == titles
        assert doc.xpath("//meta[@property='og:image']/@content")[0].startswith("https://")
        assert doc.xpath("//meta[@name='twitter:card']/@content")
        types = {d["@type"] for d in data}
        if path == "/":
            assert types == {"Organization", "WebSite"}
            org = next(d for d in data if d["@type"] == "Organization")
            assert org["url"] == f"https://{domain}/" and org["logo"].startswith(
                f"https://{domain}/static/"
            )
            assert (
                org["name"]
                and next(d for d in data if d["@type"] == "WebSite")["url"] == org["url"]
            )
        elif path in posts and "refresh" not in lxml.html.tostring(doc).decode():
            post = posts[path]
            assert types == {"BlogPosting", "BreadcrumbList"}
            posting = next(d for d in data if d["@type"] == "BlogPosting")
            for key in REQUIRED_POSTING:
                assert posting[key], (path, key)
            assert posting["headline"] == post.title
            assert posting["datePublished"] == post.date.isoformat()
            assert posting["dateModified"] == (post.updated or post.date).isoformat()
            assert posting["mainEntityOfPage"]["@id"] == canonical(doc)[0]
            assert posting["image"][0].startswith("https://")
            crumbs = next(d for d in data if d["@type"] == "BreadcrumbList")["itemListElement"]
            assert [c["position"] for c in crumbs] == [1, 2, 3]
            assert crumbs[-1]["item"] == f"https://{domain}{path}"
            assert doc.xpath("//meta[@property='og:type']/@content") == ["article"]


def test_title_pattern_per_tenant(sample_build: Project) -> None:
    doc = lxml.html.parse(str(sample_build.site("agencies") / "blog" / "index.html")).getroot()
    assert doc.findtext(".//title") == "Blog · Tallystack for Teams"


def test_description_falls_back_to_the_first_paragraph(project: Project) -> None:
    long = "Word " * 60
    project.post("plain", body=f"{long.strip()}.\n\nSecond paragraph.")
    assert project.build().exit_code == 0
    doc = lxml.html.parse(str(project.site() / "blog" / "plain" / "index.html")).getroot()
    description = doc.xpath("//meta[@name='description']/@content")[0]
    assert description.endswith("…") and len(description) <= 155
    assert description.startswith("Word Word") and "Second" not in description


def test_post_share_image_and_author_from_front_matter(project: Project) -> None:
    project.post("pictured", image="/static/img/share-agencies.png", author="Ada Lovelace")
    assert project.build().exit_code == 0
    doc = lxml.html.parse(str(project.site() / "blog" / "pictured" / "index.html")).getroot()
    image = doc.xpath("//meta[@property='og:image']/@content")[0]
    assert image.startswith(
        "https://tallystack.example/static/img/share-agencies."
    ) and image.endswith(".png")
    posting = next(d for d in jsonld(doc) if d["@type"] == "BlogPosting")
    assert posting["author"] == {"@type": "Person", "name": "Ada Lovelace"}
    project.post("broken-image", image="/static/img/missing.png")
    result = project.build()
    assert (
        result.exit_code == 1
        and "broken-image.md:2: image: no file site/static/img/missing.png" in result.output
    )


def test_sitemap_becomes_an_index_past_the_limit(project: Project, monkeypatch) -> None:
    for i in range(12):
        project.post(f"post-{i:02d}", date=f"2026-01-{i + 1:02d}")
    monkeypatch.setattr(seo, "SITEMAP_LIMIT", 5)
    assert project.build().exit_code == 0
    site = project.site()
    index = etree.fromstring((site / "sitemap.xml").read_bytes())
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    parts = index.xpath("//s:sitemap/s:loc/text()", namespaces=SITEMAP_NS)
    urls = []
    for part in parts:
        assert part.startswith("https://tallystack.example/sitemap-")
        tree = etree.fromstring((site / urlsplit(part).path.lstrip("/")).read_bytes())
        found = tree.xpath("//s:url/s:loc/text()", namespaces=SITEMAP_NS)
        assert 0 < len(found) <= 5
        urls += found
    # home, features, pricing, blog pages 1-2, 12 posts
    assert len(urls) == len(set(urls)) == 17


def test_assets_are_fingerprinted_and_cached_for_a_year(sample_build: Project) -> None:
    site = sample_build.site()
    doc = lxml.html.parse(str(site / "index.html")).getroot()
    css = doc.xpath("//link[@rel='stylesheet']/@href")
    assert len(css) == 1 and css[0].startswith("/static/css/site.") and css[0].endswith(".css")
    assert (site / css[0].lstrip("/")).is_file()
    assert not (site / "static" / "css" / "site.css").exists()
    # Each tenant's colours are in its own bundle.
    agencies_css = lxml.html.parse(str(sample_build.site("agencies") / "index.html")).getroot()
    assert agencies_css.xpath("//link[@rel='stylesheet']/@href") != css
    headers = (site / "_headers").read_text()
    assert "/static/*\n  Cache-Control: public, max-age=31536000, immutable" in headers
    for name in (
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "frame-ancestors 'none'",
    ):
        assert name in headers
    # Nothing inline that the CSP (no 'unsafe-inline') would block; scripts are our own files.
    for page in html_pages(site).values():
        assert not page.xpath(
            "//style | //*[@style] | //script[not(@src or @type='application/ld+json')]"
        )
        for script in page.xpath("//script[@src]/@src"):
            assert script.startswith("/static/") and (site / script.lstrip("/")).is_file()


def test_post_images_have_dimensions_and_load_lazily(sample_build: Project) -> None:
    doc = lxml.html.parse(
        str(sample_build.site() / "blog" / "late-invoice-follow-ups" / "index.html")
    )
    images = doc.getroot().cssselect(".prose img")
    assert images
    for image in images:
        assert image.get("width") and image.get("height") and image.get("loading") == "lazy"
        assert image.get("src").startswith("/static/img/") and image.get("alt")


def test_reader_features(sample_build: Project) -> None:
    doc = lxml.html.parse(
        str(sample_build.site() / "blog" / "setting-a-day-rate" / "index.html")
    ).getroot()
    meta = " ".join(doc.cssselect("article header .meta")[1].text_content().split())
    assert "min read" in meta and "Updated September 18, 2025" in meta  # en_US
    related = [a.get("href") for a in doc.cssselect(".related a")]
    assert 1 <= len(related) <= 3 and "/blog/setting-a-day-rate/" not in related
    from tests.helpers.sample_corpus import corpus

    posts = {p.url: p for p in corpus().posts}
    this = posts["/blog/setting-a-day-rate/"]
    for url in related:
        assert set(posts[url].tags) & set(this.tags) and "freelancers" in posts[url].tenants
