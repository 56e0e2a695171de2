"""SEO: how each page's canonical URL is chosen, and what goes in its <head> for search
engines and sharing (title, description, canonical URL, Open Graph and Twitter tags, JSON-LD).

The canonical URL (``<link rel="canonical">``, ``og:url``, JSON-LD ``url``) of
- a **post** is its URL on its canonical tenant's site: the front matter's ``canonical_tenant``,
  else the first of the post's ``tenants`` (the first tenant of site/tenants.toml when it lists
  none; read and checked in :mod:`renderer.content.front_matter_checks`). Every tenant showing
  the post points there, and only that tenant lists it in its sitemap (:func:`is_canonical_copy`);
- a renamed post's **old address** (its alias page) is the post's canonical URL;
- a **landing page** is its own URL on its tenant, and a split-test **variant**
  (``pricing@annual``) is its original page's (``/pricing/``): nothing returns 301 for a test;
- a **listing** (blog index pages, tag pages) is its own URL;
- the **404 page** has none (it is served at any address).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request

from floe.head import Head, ShareImage, page_title
from floe.tenants import Tenant
from renderer.content.catalog import Catalog
from renderer.content.documents import LandingPage, Post
from renderer.content.markdown import summarize
from renderer.views.asset_urls import AssetManifest


def post_canonical_url(post: Post, tenants: Mapping[str, Tenant]) -> str:
    """The post's URL on its canonical tenant's site."""
    return tenants[post.canonical_tenant].base_url + post.url


def page_canonical_url(page: LandingPage, tenant: Tenant) -> str:
    """A landing page's own URL; a split-test variant's is its original page's."""
    return tenant.base_url + ("/" if page.base == "home" else f"/{page.base}/")


def listing_canonical_url(tenant: Tenant, path: str) -> str:
    """A listing page (blog index, tag page) is canonical at its own ``path``."""
    return tenant.base_url + path


def is_canonical_copy(post: Post, tenant: Tenant) -> bool:
    """Whether ``tenant``'s copy of ``post`` is the one search engines should index."""
    return post.canonical_tenant == tenant.key


def share_image(tenant: Tenant, assets: AssetManifest, image: str = "") -> ShareImage | None:
    """The absolute, fingerprinted URL of ``image`` (a post's own) or the tenant's default."""
    image = image or tenant.image or ""
    if not image:
        return None
    if image.startswith("https://"):
        return ShareImage(image)
    asset = assets[image]
    return ShareImage(tenant.base_url + asset.url, asset.width, asset.height)


def landing_head(page: LandingPage, catalog: Catalog, assets: AssetManifest) -> Head:
    tenant = catalog.tenant
    first = page.rendered.first_paragraph if page.rendered else ""
    description = page.description or summarize(first) or tenant.tagline
    home = page.name == "home"
    jsonld: tuple[dict[str, Any], ...] = ()
    if home:
        jsonld = (organization(tenant, assets), website(tenant, description))
    return Head(
        title=page.title if home else page_title(tenant, page.title),
        description=description,
        canonical=page_canonical_url(page, tenant),
        image=share_image(tenant, assets),
        jsonld=jsonld,
    )


def listing_head(catalog: Catalog, assets: AssetManifest, title: str, description: str) -> Head:
    tenant = catalog.tenant
    return Head(
        title=page_title(tenant, title),
        description=description,
        canonical=listing_canonical_url(tenant, request.path),
        image=share_image(tenant, assets),
    )


def post_head(
    post: Post, catalog: Catalog, tenants: Mapping[str, Tenant], assets: AssetManifest
) -> Head:
    tenant = catalog.tenant
    home = tenants[post.canonical_tenant]
    canonical = post_canonical_url(post, tenants)
    first = post.rendered.first_paragraph if post.rendered else ""
    description = post.description or summarize(first) or tenant.tagline
    image = share_image(tenant, assets, post.image)
    author = (
        {"@type": "Person", "name": post.author}
        if post.author
        else {"@type": "Organization", "name": tenant.author, "url": tenant.base_url + "/"}
    )
    posting = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title[:110],
        "description": description,
        "datePublished": post.date.isoformat(),
        "dateModified": post.last_modified.isoformat(),
        "author": author,
        "image": [image.url] if image else [],
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "url": canonical,
        "publisher": organization(home, assets),
        "keywords": list(post.tags),
        "inLanguage": tenant.lang,
    }
    crumbs = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            _crumb(1, tenant.name, tenant.base_url + "/"),
            _crumb(2, "Blog", tenant.base_url + "/blog/"),
            _crumb(3, post.title, tenant.base_url + post.url),
        ],
    }
    return Head(
        title=page_title(tenant, post.title),
        description=description,
        canonical=canonical,
        image=image,
        og_type="article",
        published=post.date,
        modified=post.last_modified,
        jsonld=(posting, crumbs),
    )


def not_found_head(catalog: Catalog) -> Head:
    """404 pages are served at any address: no canonical, and not to be indexed."""
    tenant = catalog.tenant
    return Head(
        page_title(tenant, "Page not found"),
        f"This page does not exist on {tenant.name}. It may have moved: try the home page "
        "or the blog.",
        None,
        robots="noindex",
    )


def organization(tenant: Tenant, assets: AssetManifest) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "@id": tenant.base_url + "/#organization",
        "name": tenant.name,
        "url": tenant.base_url + "/",
    }
    if tenant.logo:
        data["logo"] = tenant.base_url + assets[tenant.logo].url
    return data


def website(tenant: Tenant, description: str) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "@id": tenant.base_url + "/#website",
        "name": tenant.name,
        "url": tenant.base_url + "/",
        "description": description,
        "inLanguage": tenant.lang,
        "publisher": {"@id": tenant.base_url + "/#organization"},
    }


def _crumb(position: int, name: str, url: str) -> dict[str, Any]:
    return {"@type": "ListItem", "position": position, "name": name, "item": url}
