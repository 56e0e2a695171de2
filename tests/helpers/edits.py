"""Writers' edits of a copy of the sample project, one function each: the incremental-build
tests apply each and compare with a clean build, the deploy tests ship what they change."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Project


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


POST = "content/posts/setting-a-day-rate.md"


def edit_post_body(p: Project) -> None:
    edit(p.root / POST, "Most freelancers pick a day rate", "Most freelancers choose a day rate")


def edit_post_title(p: Project) -> None:
    edit(
        p.root / POST,
        'title: "How to set a freelance day rate',
        'title: "How to pick a freelance day rate',
    )


def edit_post_tags(p: Project) -> None:
    edit(p.root / POST, "tags: [pricing, freelancing]", "tags: [pricing, freelancing, taxes]")


def edit_nested_snippet(p: Project) -> None:
    edit(p.root / "content/snippets/api-auth.md", "Authorization: Bearer", "Authorization:  Bearer")


def edit_template(p: Project) -> None:
    edit(p.root / "site/templates/tag.html", "<h1>Posts about", "<h1>Articles about")


def edit_shared_partial(p: Project) -> None:
    edit(p.root / "site/templates/_post_list.html", "No posts yet.", "Nothing here yet.")
    edit(
        p.root / "site/templates/_post_list.html",
        '<ul class="post-list">',
        '<ul class="post-list posts">',
    )


def edit_css(p: Project) -> None:
    css = p.root / "site/static/css/site.css"
    css.write_text(css.read_text() + "\n.extra{color:red}\n")


def edit_image(p: Project) -> None:
    svg = p.root / "site/static/img/reminder-timeline.svg"
    edit(svg, "friendly nudge", "gentle nudge")


def edit_tenants(p: Project) -> None:
    edit(
        p.root / "site/tenants.toml",
        'tagline = "Timesheets, budgets',
        'tagline = "Team timesheets, budgets',
    )


def add_post(p: Project) -> None:
    p.post(
        "a-new-post",
        date="2026-11-20",
        tags=["pricing", "brand-new-tag"],
        body="Links to [the day-rate guide](setting-a-day-rate.md).",
    )


def relink(p: Project, old: str, new: str) -> None:
    """Point every link to ``old`` at ``new``, as a writer does when removing a post."""
    for file in (p.root / "content").rglob("*.md"):
        text = file.read_text()
        if f"({old}" in text:
            file.write_text(text.replace(f"({old}", f"({new}"))


def delete_post(p: Project) -> None:
    (p.root / "content/posts/measuring-utilisation-with-sqlite.md").unlink()
    relink(p, "measuring-utilisation-with-sqlite.md", "/blog/")


def rename_post(p: Project) -> None:
    old = p.root / "content/posts/rounding-rules-for-billable-time.md"
    old.rename(old.with_name("billable-time-rounding.md"))
    relink(p, "rounding-rules-for-billable-time.md", "billable-time-rounding.md")


def schedule_passes(p: Project) -> None:
    """Not an edit: the build's date moves past a scheduled post's date."""


EDITS = [
    edit_post_body,
    edit_post_title,
    edit_post_tags,
    edit_nested_snippet,
    edit_template,
    edit_shared_partial,
    edit_css,
    edit_image,
    edit_tenants,
    add_post,
    delete_post,
    rename_post,
]
