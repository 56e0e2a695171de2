"""Atom entry ids (RFC 4287 §4.2.6): a renamed post keeps its id, and no two posts share one."""

from __future__ import annotations

import feedparser

from tests.conftest import Project


def entries(project: Project, tenant: str = "freelancers") -> dict[str, str]:
    """Each feed entry's id by its link."""
    feed = feedparser.parse((project.site(tenant) / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    return {entry.link: entry.id for entry in feed.entries}


def test_a_renamed_post_keeps_its_entry_id(project: Project) -> None:
    project.post("day-rates", date="2026-03-14")
    project.post("other", date="2026-03-15")
    assert project.build().exit_code == 0
    before = entries(project)
    old_id = before["https://tallystack.example/blog/day-rates/"]

    (project.content / "posts" / "day-rates.md").unlink()
    project.post("setting-a-day-rate", date="2026-03-14", aliases=["/blog/day-rates/"])
    assert project.build().exit_code == 0
    after = entries(project)
    assert after["https://tallystack.example/blog/setting-a-day-rate/"] == old_id
    assert "https://tallystack.example/blog/day-rates/" not in after

    # Renamed again: the first alias is the first address, so the id still holds.
    (project.content / "posts" / "setting-a-day-rate.md").unlink()
    project.post(
        "day-rates-that-work",
        date="2026-03-14",
        aliases=["/blog/day-rates/", "/blog/setting-a-day-rate/"],
    )
    assert project.build().exit_code == 0
    assert entries(project)["https://tallystack.example/blog/day-rates-that-work/"] == old_id
    assert len(set(entries(project).values())) == 2


def test_an_explicit_id_is_used_and_checked(project: Project) -> None:
    project.post("fixed", id="urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66")
    assert project.build().exit_code == 0
    assert entries(project) == {
        "https://tallystack.example/blog/fixed/": "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"
    }
    project.post("fixed", id="not a uri")
    result = project.build()
    assert result.exit_code == 1
    assert "content/posts/fixed.md:2: id: 'not a uri' is not a tag:, urn: or https:// URI" in (
        result.output
    )


def test_two_posts_with_one_id_fail_the_build_naming_both(project: Project) -> None:
    project.post("first", id="tag:tallystack.example,2026:pricing")
    project.post("second", id="tag:tallystack.example,2026:pricing")
    result = project.build()
    assert result.exit_code == 1, result.output
    assert (
        "content/posts/second.md:2: id: feed entry id 'tag:tallystack.example,2026:pricing' "
        "is also the id of content/posts/first.md"
    ) in result.output


def test_an_explicit_id_equal_to_another_posts_derived_id_is_refused(project: Project) -> None:
    project.post("original", date="2026-02-01")
    project.post("copycat", id="tag:tallystack.example,2026-02-01:/blog/original/")
    result = project.build()
    assert result.exit_code == 1
    assert "is also the id of content/posts/" in result.output
