"""The build writes nowhere but under its output folder, whatever a page's address holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask

from renderer.content import catalog as catalog_module
from renderer.engine.build_cache import Journal, apply_journal, remove_files
from renderer.engine.freeze import SiteFreezer, _FreezeFailed
from renderer.engine.paths import OutsideOutput, inside
from tests.conftest import Project

#: From the staging folder build/.staging-…/, two levels up is the project itself.
ESCAPING_ALIAS = "/../../outside-the-build/"


def test_an_address_resolving_outside_the_build_fails_it_and_writes_nothing(
    project: Project, monkeypatch
) -> None:
    project.post("a-post", title="A post")
    assert project.build().exit_code == 0
    before = project.snapshot()
    collect = catalog_module._collect_aliases

    def with_an_escaping_alias(catalog, problems) -> None:
        # Front matter refuses such an alias: inject it behind the checks, as a bug would.
        collect(catalog, problems)
        catalog.aliases[ESCAPING_ALIAS] = catalog.posts[0]

    monkeypatch.setattr(catalog_module, "_collect_aliases", with_an_escaping_alias)
    project.post("another-post", title="Another post")
    result = project.build()

    assert result.exit_code == 1
    assert "content/posts/another-post.md" in result.output  # the newest post, first
    assert ESCAPING_ALIAS in result.output and "outside" in result.output
    assert not (project.root / "outside-the-build").exists()
    assert project.snapshot() == before
    assert not list(project.out.glob(".staging-*"))


def tiny_freezer(destination: Path, urls: list[str]) -> SiteFreezer:
    app = Flask(__name__)
    app.config.update(FREEZER_DESTINATION=str(destination), FREEZER_REMOVE_EXTRA_FILES=False)
    app.add_url_rule("/<path:anything>", "page", lambda anything: "written")
    freezer = SiteFreezer(app, with_static_files=False, with_no_argument_rules=False)
    freezer.register_generator(lambda: iter(urls))
    return freezer


@pytest.mark.parametrize("url", ["/../escaped.html", "/a/../../escaped.html"])
def test_the_freezer_refuses_a_file_outside_its_destination(tmp_path: Path, url: str) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(_FreezeFailed) as failed:
        tiny_freezer(staging, ["/fine.html", url]).freeze()
    assert isinstance(failed.value.error, OutsideOutput)
    assert "outside the build's folder" in str(failed.value)
    assert not (tmp_path / "escaped.html").exists()


def test_the_freezer_refuses_to_write_through_a_symbolic_link(tmp_path: Path) -> None:
    staging, elsewhere = tmp_path / "staging", tmp_path / "elsewhere"
    staging.mkdir()
    elsewhere.mkdir()
    (staging / "linked").symlink_to(elsewhere)
    with pytest.raises(_FreezeFailed) as failed:
        tiny_freezer(staging, ["/linked/page.html"]).freeze()
    assert isinstance(failed.value.error, OutsideOutput)
    assert list(elsewhere.iterdir()) == []


def test_journal_replay_and_removal_refuse_names_outside_the_tree(tmp_path: Path) -> None:
    current, spare = tmp_path / "current", tmp_path / "spare"
    current.mkdir()
    spare.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (current / "page.html").write_text("new")
    with pytest.raises(OutsideOutput):
        apply_journal(Journal("t", ("page.html", "../victim.txt"), ()), current, spare)
    with pytest.raises(OutsideOutput):
        remove_files(spare, {"../victim.txt"})
    assert victim.read_text() == "keep me"
    assert inside(spare, "page.html") == spare / "page.html"
    os.unlink(spare / "page.html")
