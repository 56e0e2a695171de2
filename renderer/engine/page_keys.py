"""Page keys: what each page of a tenant depends on, as one digest.

Every page of a tenant gets a key, a digest of everything its HTML depends on: the code, the
tenant's settings, the templates it renders with (and the assets they name), and the content
it shows. A page whose key matches the last build's is not rendered again: its file is linked
from the current output. When a template depends on something this module cannot see, the
page depends on the whole catalog, so a build is never stale, only slower. Keys are made by
:mod:`renderer.engine.cache_keys`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from jinja2 import Environment, TemplateSyntaxError, meta, nodes

from renderer.content.catalog import Catalog
from renderer.content.documents import LandingPage, Post
from renderer.content.sources import Sources
from renderer.engine.build_cache import code_version_cached
from renderer.engine.cache_keys import digest
from renderer.views import blog, crawler_files
from renderer.views.asset_urls import BUNDLE, AssetManifest

#: The template functions that name an asset (see :func:`renderer.views.app.create_app`).
ASSET_FUNCTIONS = ("asset", "asset_url")


class _LazyDigests:
    """Digests of parts of the catalog, computed only when a template uses that part."""

    def __init__(self, **parts: Callable[[], str]):
        self._parts = parts
        self._done: dict[str, str] = {}

    def get(self, part: str, default: str | None = None) -> str:
        name = part if part in self._parts else "everything"
        if name not in self._done:
            self._done[name] = self._parts[name]()
        return self._done[name]


class TemplateDependencies:
    """The templates a page renders with (extends, includes, imports), and what they use.

    Each template is parsed by Jinja: :func:`jinja2.meta.find_referenced_templates` gives the
    templates it names, and its syntax tree the assets it asks for (``asset('x')``,
    ``asset_url('x')``) and the parts of the catalog it reads (``catalog.tags``). A template
    chosen at run time, an asset named by a variable or a template Jinja cannot parse (its
    error is reported when it renders) makes the page depend on everything of that kind.
    """

    def __init__(self, app: Flask, manifest: AssetManifest, catalog_digests: _LazyDigests):
        self.env = app.jinja_env
        self.manifest = manifest
        self.catalog_digests = catalog_digests
        self._memo: dict[str, str] = {}

    def digest(self, name: str) -> str:
        if name not in self._memo:
            self._memo[name] = self._closure_digest(name)
        return self._memo[name]

    def _closure_digest(self, top: str) -> str:
        parts: list[Any] = []
        seen: set[str] = set()
        pending = [top]
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            assert self.env.loader is not None
            source, filename, _ = self.env.loader.get_source(self.env, name)
            parts.append((name, filename, source))
            uses = template_uses(self.env, name, filename, source)
            if uses is None:  # Jinja cannot parse it: reported when the page renders
                parts.append(self._all_templates())
                continue
            for referenced in uses.templates:
                if referenced is None:  # a template chosen at run time: depend on all of them
                    parts.append(self._all_templates())
                else:
                    pending.append(referenced)
            for asset in uses.assets:
                if asset is not None and asset in self.manifest:
                    parts.append(self.manifest[asset].url)
                else:  # asset(tenant.logo) and the like: depend on every asset
                    parts.append([a.url for a in self.manifest])
            for part in uses.catalog:
                parts.append(self.catalog_digests.get(part))
        return digest(parts)

    def _all_templates(self) -> str:
        assert self.env.loader is not None
        return digest(
            [self.env.loader.get_source(self.env, n)[0] for n in sorted(self.env.list_templates())]
        )


@dataclass(frozen=True)
class TemplateUses:
    """What one template's source names: other templates (None: chosen at run time), assets
    (None: named at run time) and parts of the catalog (``everything`` for the whole)."""

    templates: tuple[str | None, ...]
    assets: tuple[str | None, ...]
    catalog: tuple[str, ...]


#: Templates are parsed once per process, whatever the number of tenants that use them.
_uses: dict[tuple[str, str | None, str], TemplateUses | None] = {}


def template_uses(
    env: Environment, name: str, filename: str | None, source: str
) -> TemplateUses | None:
    """What the template ``source`` uses, from Jinja's syntax tree; None if it does not parse."""
    key = (name, filename, source)
    if key not in _uses:
        try:
            tree = env.parse(source, name, filename)
        except TemplateSyntaxError:
            _uses[key] = None
        else:
            _uses[key] = _read_uses(tree)
    return _uses[key]


def _read_uses(tree: nodes.Template) -> TemplateUses:
    assets: list[str | None] = []
    catalog: list[str] = []
    names = 0
    for node in tree.find_all((nodes.Call, nodes.Name, nodes.Getattr)):
        if isinstance(node, nodes.Call):
            if isinstance(node.node, nodes.Name) and node.node.name in ASSET_FUNCTIONS:
                first = node.args[0] if node.args else None
                literal = first.value if isinstance(first, nodes.Const) else None
                assets.append(literal if isinstance(literal, str) and literal else None)
        elif isinstance(node, nodes.Name):
            names += node.name == "catalog"
        elif (
            isinstance(node, nodes.Getattr)
            and isinstance(node.node, nodes.Name)
            and node.node.name == "catalog"
        ):
            catalog.append(node.attr)  # catalog.tags → tags
    if names > len(catalog):  # the catalog used otherwise than by one of its parts
        catalog.append("everything")
    templates = tuple(meta.find_referenced_templates(tree))
    return TemplateUses(templates, tuple(assets), tuple(catalog))


def _summary(post: Post) -> str:
    """What listings show of a post (a digest)."""
    return post.listing_digest


def _full(post: Post, catalog: Catalog) -> tuple:
    """Everything a post's own page and the feed show of it, on this tenant."""
    rendered = post.rendered
    return (
        _summary(post),
        post.tenants,
        post.aliases,
        post.image,
        rendered.digest if rendered else "",
        tuple(sorted(catalog.links.get(post.file, {}).items())),
    )


class _FullDigests:
    """The digest of :func:`_full` for each post of one tenant, computed once."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._done: dict[str, str] = {}

    def __call__(self, post: Post) -> str:
        found = self._done.get(post.file)
        if found is None:
            found = self._done[post.file] = digest(_full(post, self.catalog))
        return found


def _landing(page: LandingPage, catalog: Catalog) -> tuple:
    first = page.rendered.first_paragraph if page.rendered else ""
    return (
        tuple(sorted(catalog.links.get(page.file, {}).items())),
        page.name,
        page.title,
        page.description,
        page.template,
        tuple(sorted((page.hero or {}).items())),
        catalog.body(page),
        first,
    )


def page_keys(app: Flask, sources: Sources, tenant: str) -> dict[str, str]:
    """The key of every URL of ``tenant``: a page whose key is unchanged is not rendered again.

    A URL missing from the result is always rendered.
    """
    catalog = sources.catalogs[tenant]
    manifest = sources.manifests[tenant]
    settings = sources.tenants[tenant]
    posts = catalog.posts
    tags_overview = tuple((t.slug, t.name, len(t.posts)) for t in catalog.tags.values())
    full = _FullDigests(catalog)
    catalog_digests = _LazyDigests(
        tags=lambda: digest(tags_overview),
        everything=lambda: digest(
            tuple(full(p) for p in posts),
            tuple(_landing(p, catalog) for p in catalog.pages.values()),
            tags_overview,
        ),
    )
    templates = TemplateDependencies(app, manifest, catalog_digests)
    # Tenants are hashed in many keys: their text once.
    tenant_text = {key: digest(value) for key, value in sources.tenants.items()}
    shared_assets = tuple(
        manifest[n].url for n in (BUNDLE, settings.logo, settings.image) if n and n in manifest
    )
    tests = tuple(e for e in sources.experiments.values() if tenant in e.tenants)
    base = digest(code_version_cached(), tenant_text[tenant], shared_assets, tests)
    keys: dict[str, str] = {}

    recent = tuple(_summary(p) for p in posts[:3])
    for page in catalog.pages.values():
        keys[page.url] = digest(
            base, templates.digest(page.template), _landing(page, catalog), recent
        )

    last = blog.page_count(len(posts))
    for number in range(1, last + 1):
        shown = tuple(
            _summary(p) for p in posts[(number - 1) * blog.PER_PAGE : number * blog.PER_PAGE]
        )
        url = "/blog/" if number == 1 else f"/blog/page/{number}/"
        keys[url] = digest(base, templates.digest("blog_index.html"), number, last, shown)

    post_template = templates.digest("post.html")
    for post in posts:
        home = tenant_text[post.canonical_tenant]
        related = tuple(_summary(p) for p in catalog.related(post))
        keys[post.url] = digest(
            base,
            post_template,
            full(post),
            related,
            home,
            manifest[post.image].url if post.image.startswith("/static/") else "",
        )

    tag_template = templates.digest("tag.html")
    for tag in catalog.tags.values():
        keys[tag.url] = digest(base, tag_template, tag.name, tuple(_summary(p) for p in tag.posts))

    keys["/feed.xml"] = digest(
        base, templates.digest("feed.xml"), tuple(full(p) for p in posts[: crawler_files.FEED_SIZE])
    )
    entries = tuple(f"{e.loc} {e.lastmod}" for e in crawler_files.sitemap_entries(catalog))
    if len(entries) <= crawler_files.SITEMAP_LIMIT:
        keys["/sitemap.xml"] = digest(base, templates.digest("sitemap.xml"), entries)
    else:
        limit = crawler_files.SITEMAP_LIMIT
        keys["/sitemap.xml"] = digest(base, templates.digest("sitemap_index.xml"), entries)
        for number in range(1, (len(entries) + limit - 1) // limit + 1):
            part = entries[(number - 1) * limit : number * limit]
            keys[f"/sitemap-{number}.xml"] = digest(base, templates.digest("sitemap.xml"), part)
    for asset in manifest:  # content-addressed: an existing file is the right one
        keys[asset.url] = asset.url
    aliases = tuple(sorted((alias, post.url) for alias, post in catalog.aliases.items()))
    keys["/robots.txt"] = digest(base)
    keys["/_redirects"] = digest(base, aliases)
    keys["/_headers"] = digest(base)
    keys["/404.html"] = digest(base, templates.digest("404.html"))
    alias_template = templates.digest("alias.html")
    for alias, post in catalog.aliases.items():
        home = tenant_text[post.canonical_tenant]
        keys[crawler_files.alias_rule(alias)] = digest(
            base, alias_template, alias, post.url, post.title, home
        )
    return keys
