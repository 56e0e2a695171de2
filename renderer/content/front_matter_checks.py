"""Front matter checked field by field into a post's or landing page's record.

Every problem names the file, the field and its line, and says what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from floe.errors import Problem
from floe.fields import Fields
from floe.outputpath import HINT as PATH_HINT
from floe.outputpath import output_path_problem
from floe.tenants import Tenant
from renderer.content.documents import ENTRY_ID, RESERVED_PAGES, SLUG, LandingPage, Post, tag_slug
from renderer.content.flatpages_adapter import SourcePage
from renderer.content.frontmatter import FrontMatter, parse_front_matter

POST_KEYS = (
    "title",
    "date",
    "description",
    "tags",
    "tenants",
    "draft",
    "updated",
    "slug",
    "aliases",
    "canonical_tenant",
    "author",
    "image",
    "id",
)


PAGE_KEYS = ("title", "description", "template", "hero")


HERO_KEYS = ("headline", "subhead", "cta_label", "cta_href")


def _front_matter(
    page: SourcePage, file: str, problems: list[Problem], memo: MutableMapping[str, FrontMatter]
) -> FrontMatter | None:
    if page.not_utf8 is not None:  # reported when it was read
        return None
    if page.split_problem:
        problems.append(
            Problem(file, 1, None, page.split_problem, "end the front matter with '---'")
        )
        return None
    if not page.has_front_matter:
        problems.append(
            Problem(
                file,
                1,
                None,
                "no front matter",
                "start the file with '---', then 'title: …' and 'date: …', then '---'",
            )
        )
        return None
    cached = memo.get(page.front_matter)
    if cached is not None:
        return cached
    meta, found = parse_front_matter(page.front_matter, file)
    if not found:
        memo[page.front_matter] = meta
    problems.extend(found)
    return None if found else meta


class _Fields(Fields):
    """Front-matter fields: each problem on its field's line; a missing one is added as
    ``key: …``."""

    missing_message = "required field is missing"

    def __init__(self, meta: FrontMatter, file: str, problems: list[Problem]):
        lines = meta.lines
        super().__init__(meta.data, file, problems, line=lambda k: lines.get(k, 1), table_line=1)

    def missing_hint(self, field: str, example: str = "…") -> str:
        return f"add '{field}: {example}' to the front matter"

    def unknown(
        self,
        known: Iterable[str],
        message: str = "unknown front-matter field",
        hint: str = "known fields: ",
    ) -> None:
        super().unknown(known, message, hint)

    def strings(
        self,
        field: str,
        message: str = "must be a list of text",
        hint: str | None = None,
        *,
        required: bool = False,
    ) -> tuple[str, ...]:
        found = super().strings(field, message, hint, required=required)
        return tuple(v.strip() for v in found or ())


def read_post(
    page: SourcePage,
    file: str,
    stem: str,
    tenants: Mapping[str, Tenant | None],
    problems: list[Problem],
    assets: Mapping[str, Any] | None,
    memo: MutableMapping[str, FrontMatter],
) -> Post | None:
    meta = _front_matter(page, file, problems, memo)
    if meta is None:
        return None
    f = _Fields(meta, file, problems)
    f.unknown(POST_KEYS)
    title = f.text("title", required=True)
    date = f.date("date", required=True)
    updated = f.date("updated")
    if date and updated and updated < date:
        f.problem(
            "updated",
            f"{updated} is before the post's date {date}",
            "updated is when the post last changed, on or after its date",
        )
    tags = f.strings("tags", hint="write tags: [pricing, invoicing]")
    listed = f.strings(
        "tenants", hint="write tenants: [" + ", ".join(tenants) + "], or leave it out for all"
    )
    for name in listed:
        if name not in tenants:
            f.problem("tenants", f"unknown tenant {name!r}", "known tenants: " + ", ".join(tenants))
    post_tenants = listed or tuple(tenants)
    canonical = f.text("canonical_tenant", default=post_tenants[0] if post_tenants else "")
    if "canonical_tenant" in meta.data and canonical not in post_tenants:
        f.problem(
            "canonical_tenant",
            f"{canonical!r} is not one of this post's tenants",
            "choose one of: " + ", ".join(post_tenants),
        )
    slug = f.text("slug", default="")
    if slug and not SLUG.match(slug):
        f.problem("slug", f"{slug!r} is not a URL slug", "use lowercase words joined by '-'")
    elif slug:
        f.address("slug", slug)
    if not slug:
        slug = stem if SLUG.match(stem) else tag_slug(stem)
        if output_path_problem(slug) is not None:
            f.problem(
                "slug",
                f"the file name {stem!r} gives no usable address ({slug!r})",
                "set 'slug: …' (lowercase words joined by '-') or rename the file",
            )
    for tag in tags:
        f.address("tags", tag_slug(tag), f"tag {tag!r} (address {tag_slug(tag)!r})")
    aliases = f.strings("aliases", hint="write aliases: [/blog/old-name/]")
    for alias in aliases:
        if not alias.startswith("/") or "//" in alias or " " in alias:
            f.problem("aliases", f"{alias!r} is not a site path", "write it like /blog/old-name/")
        else:
            f.address("aliases", alias)
    author, image = f.text("author"), _image(f, assets)
    entry_id = f.text("id")
    if entry_id and not ENTRY_ID.match(entry_id):
        f.problem(
            "id",
            f"{entry_id!r} is not a tag:, urn: or https:// URI",
            "leave it out (the post's first address gives its id), or write it like "
            "tag:tallystack.example,2026-03-14:day-rates",
        )
    if not f.ok or date is None:
        return None
    return Post(
        file=file,
        stem=stem,
        slug=slug,
        title=title,
        date=date,
        description=f.text("description"),
        tags=tuple(dict.fromkeys(tags)),
        tenants=post_tenants,
        canonical_tenant=canonical,
        draft=f.flag("draft"),
        updated=updated,
        aliases=aliases,
        author=author,
        image=image,
        entry_id=entry_id,
        body=page.body,
        body_line=page.body_line,
        lines=meta.lines,
    )


def _image(f: _Fields, assets: Mapping[str, Any] | None) -> str:
    image = f.text("image")
    if not image:
        return ""
    if image.startswith("/static/"):
        if not f.address("image", image):
            return ""
        if assets is not None and image.removeprefix("/static/") not in assets:
            f.problem("image", f"no file site{image}", "put the image in site/static/")
        return image
    if not image.startswith("https://"):
        f.problem("image", f"{image!r} is neither under /static/ nor an https:// URL")
    return image


def read_page(
    page: SourcePage,
    file: str,
    rest: str,
    tenants: Mapping[str, Tenant | None],
    problems: list[Problem],
    memo: MutableMapping[str, FrontMatter],
) -> LandingPage | None:
    tenant, _, name = rest.partition("/")
    if not name or "/" in name:
        problems.append(
            Problem(
                file,
                None,
                None,
                "landing pages live in content/pages/TENANT/NAME.md",
                "move the file into its tenant's folder",
            )
        )
        return None
    if tenant not in tenants:
        problems.append(
            Problem(
                file,
                None,
                None,
                f"folder {tenant!r} is not a tenant",
                "known tenants: " + ", ".join(tenants),
            )
        )
        return None
    base, at, variant = name.partition("@")  # pricing@annual: a split-test variant of pricing
    if base in RESERVED_PAGES or not SLUG.match(base) or (at and not SLUG.match(variant)):
        problems.append(
            Problem(
                file,
                None,
                None,
                f"{name!r} cannot be a page name",
                "use lowercase words joined by '-' (and PAGE@VARIANT for a split-test variant), "
                "not one of: " + ", ".join(sorted(RESERVED_PAGES)),
            )
        )
        return None
    reason = output_path_problem(name)
    if reason is not None:
        problems.append(Problem(file, None, None, f"page name {name!r} {reason}", PATH_HINT))
        return None
    meta = _front_matter(page, file, problems, memo)
    if meta is None:
        return None
    f = _Fields(meta, file, problems)
    f.unknown(PAGE_KEYS)
    hero = meta.data.get("hero")
    if hero is not None:
        if not isinstance(hero, dict):
            f.problem("hero", "must be a mapping", "keys: " + ", ".join(HERO_KEYS))
            hero = None
        else:
            for key in hero:
                if key not in HERO_KEYS:
                    f.problem("hero", f"unknown key {key!r}", "known keys: " + ", ".join(HERO_KEYS))
            hero = {k: str(v) for k, v in hero.items()}
    template = f.text("template", default="page.html")
    f.address("template", template)
    landing = LandingPage(
        file=file,
        tenant=tenant,
        name=name,
        title=f.text("title", required=True),
        description=f.text("description"),
        template=template,
        hero=hero,
        body=page.body,
        body_line=page.body_line,
        lines=meta.lines,
    )
    return landing if f.ok else None
