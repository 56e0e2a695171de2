"""Bad input: a clear error naming file and line or field, exit 1, previous output untouched."""

from __future__ import annotations

import pytest

from tests.conftest import Project, published_files

GOOD_POST = """
---
title: A good post
date: 2026-02-01
tags: [pricing]
---

Text with a snippet:

{% snippet "note" %}
"""


def prepare(project: Project) -> None:
    project.write("content/posts/good.md", GOOD_POST)
    project.write("content/snippets/note.md", "A *shared* note.\n")


def bad_yaml(p: Project) -> None:
    p.write(
        "content/posts/broken.md",
        """
        ---
        title: "Unclosed quote
        date: 2026-02-02
        ---
        Body.
        """,
    )


def missing_title(p: Project) -> None:
    p.write("content/posts/untitled.md", "---\ndate: 2026-02-02\n---\nBody.\n")


def missing_date(p: Project) -> None:
    p.write("content/posts/undated.md", "---\ntitle: No date\n---\nBody.\n")


def bad_date(p: Project) -> None:
    p.write("content/posts/baddate.md", "---\ntitle: Bad date\ndate: 2026-13-45\n---\nBody.\n")


def unknown_tenant(p: Project) -> None:
    p.write(
        "content/posts/lost.md",
        "---\ntitle: Lost\ndate: 2026-02-02\ntenants: [freelancers, hobbyists]\n---\nx\n",
    )


def duplicate_slug(p: Project) -> None:
    p.write("content/posts/other.md", "---\ntitle: Other\ndate: 2026-02-03\nslug: good\n---\nx\n")


def missing_snippet(p: Project) -> None:
    p.write(
        "content/posts/needs.md",
        '---\ntitle: Needs\ndate: 2026-02-02\n---\n\nIntro.\n\n{% snippet "nowhere" %}\n',
    )


def snippet_cycle(p: Project) -> None:
    p.write("content/snippets/note.md", 'A note.\n{% snippet "loop" %}\n')
    p.write("content/snippets/loop.md", 'Loop.\n\n{% snippet "note" %}\n')


def missing_template(p: Project) -> None:
    p.write(
        "content/pages/freelancers/features.md",
        "---\ntitle: Features\ntemplate: fancy.html\n---\nx\n",
    )


def missing_front_matter(p: Project) -> None:
    p.write("content/posts/plain.md", "Just text, no front matter.\n")


def unknown_field(p: Project) -> None:
    p.write(
        "content/posts/typo.md", "---\ntitle: Typo\ndate: 2026-02-02\ntgas: [pricing]\n---\nx\n"
    )


def tenant_missing_key(p: Project) -> None:
    path = p.root / "site" / "tenants.toml"
    path.write_text(path.read_text().replace('tagline = "Timesheets', 'slogan = "Timesheets', 1))


def broken_template(p: Project) -> None:
    p.write(
        "site/templates/tenants/freelancers/tag.html",
        "{% extends 'base.html' %}\n{% block main %}\n{{ tag.nope() }}\n{% endblock %}\n",
    )


def template_syntax(p: Project) -> None:
    p.write(
        "site/templates/tenants/agencies/page.html",
        "{% extends 'base.html' %}\n\n{% block main %}{% if %}{% endblock %}\n",
    )


def broken_md_link(p: Project) -> None:
    p.write(
        "content/posts/linker.md",
        "---\ntitle: Linker\ndate: 2026-02-02\n---\n\nSee\n[the guide](missing-guide.md).\n",
    )


CASES = {
    # name: (mutation, strings the message must contain)
    "malformed YAML": (bad_yaml, ["content/posts/broken.md:", "invalid YAML"]),
    "missing title": (
        missing_title,
        ["content/posts/untitled.md", "title: required field is missing"],
    ),
    "missing date": (missing_date, ["content/posts/undated.md", "date: required field is missing"]),
    "bad date": (bad_date, ["content/posts/baddate.md:3: date:", "not a valid date", "YYYY-MM-DD"]),
    "unknown tenant": (
        unknown_tenant,
        [
            "content/posts/lost.md:4: tenants: unknown tenant 'hobbyists'",
            "known tenants: freelancers, agencies",
        ],
    ),
    "duplicate slug": (duplicate_slug, ["content/posts/other.md: slug:", "content/posts/good.md"]),
    "missing snippet": (
        missing_snippet,
        ['content/posts/needs.md:8: snippet "nowhere" not found', "content/snippets/nowhere.md"],
    ),
    "snippet cycle": (snippet_cycle, ["includes itself", "note → loop → note"]),
    "missing template": (
        missing_template,
        ["content/pages/freelancers/features.md:3: template:", "'fancy.html' not found"],
    ),
    "no front matter": (missing_front_matter, ["content/posts/plain.md:1", "no front matter"]),
    "unknown field": (unknown_field, ["content/posts/typo.md:4: tgas: unknown front-matter field"]),
    "tenant key": (
        tenant_missing_key,
        [
            "site/tenants.toml",
            "tenants.agencies.tagline: required key",
            "tenants.agencies.slogan",
            "unknown key",
        ],
    ),
    "template runtime error": (
        broken_template,
        ["site/templates/tenants/freelancers/tag.html:3", "/blog/tag/pricing/"],
    ),
    "template syntax error": (
        template_syntax,
        ["site/templates/tenants/agencies/page.html:3", "template error"],
    ),
    "broken .md link": (broken_md_link, ["content/posts/linker.md:7", "missing-guide.md"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_reported_and_output_kept(project: Project, case: str) -> None:
    prepare(project)
    first = project.build()
    assert first.exit_code == 0, first.output
    before = project.snapshot()
    assert before

    mutate, expected = CASES[case]
    mutate(project)
    result = project.build()

    assert result.exit_code == 1, result.output
    for text in expected:
        assert text in result.output, f"{text!r} not in:\n{result.output}"
    assert "Build failed" in result.output
    assert project.snapshot() == before, "a failed build changed the previous output"
    assert sorted({name.split("/")[0] for name in published_files(project.out)}) == sorted(
        ["tallystack.example", "teams.tallystack.example"]
    )
    assert [p.name for p in (project.out / "builds").iterdir()] == ["1"]  # nothing of the failed


def test_all_problems_of_a_build_are_reported_together(project: Project) -> None:
    prepare(project)
    bad_date(project)
    missing_snippet(project)
    tenant_missing_key(project)
    result = project.build()
    assert result.exit_code == 1
    assert "content/posts/baddate.md:3" in result.output
    assert 'snippet "nowhere"' in result.output
    assert "tenants.agencies.tagline" in result.output
    assert "4 problems" in result.output  # tagline missing, slogan unknown, two posts


def test_content_problems_are_all_listed(project: Project) -> None:
    prepare(project)
    for mutate in (bad_date, missing_snippet, unknown_tenant, missing_title):
        mutate(project)
    result = project.build()
    assert result.exit_code == 1
    for text in ("baddate.md:3", "needs.md:8", "lost.md:4", "untitled.md"):
        assert text in result.output
    assert "4 problems" in result.output


def test_a_404_while_freezing_is_an_error(project: Project) -> None:
    prepare(project)
    project.write(
        "site/templates/tenants/freelancers/_footer.html",
        "<footer><a href=\"{{ url_for('blog.post', slug='no-such-post') }}\">x</a></footer>",
    )
    result = project.build()
    assert result.exit_code == 1
    assert "/blog/no-such-post/" in result.output and "404" in result.output
    assert not published_files(project.out)
    assert not project.out.exists() or not list((project.out / "builds").iterdir())
