"""Every address the build derives from content stays under the output folder."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import build as build_cli
from floe.outputpath import output_path_problem
from tests.conftest import Project

UNSAFE = [
    "/../../../../tmp/x/",
    "/blog/../../x/",
    "/blog/./x/",
    "/blog/%2e%2e/%2E%2E/x/",
    "/blog/..%2fx/",
    "/blog/..%5Cx/",
    "/blog/%252e%252e/x/",
    "/blog/%25252e%25252e/x/",
    "/blog/a\\..\\b/",
    "/blog/a\x00b/",
    "/blog/a\nb/",
    "/blog/a\x7fb/",
    "//etc/passwd",
    "/blog//x/",
    "C:/Windows/x/",
    "/c:/x/",
    "/blog/" + "a" * 256 + "/",
    "/blog/" + "é" * 128 + "/",  # 256 bytes of UTF-8
    "/blog/<path:x>/",
    "/blog/x?y=1",
    "/blog/%ff/",
    "",
    "/",
]
SAFE = [
    "/blog/old-name/",
    "/2019/05/old_post.html",
    "/blog/" + "a" * 255 + "/",
    "/blog/caf%C3%A9/",
    "pricing@annual",
    "a-slug",
]


@pytest.mark.parametrize("path", UNSAFE, ids=repr)
def test_unsafe_paths_are_refused(path: str) -> None:
    assert output_path_problem(path) is not None


@pytest.mark.parametrize("path", SAFE, ids=repr)
def test_safe_paths_are_accepted(path: str) -> None:
    assert output_path_problem(path) is None


def check(project: Project):
    return CliRunner().invoke(build_cli.cli, ["--project", str(project.root), "check"])


def errors(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if line.startswith("error: "))


def test_alias_climbing_out_of_the_output_folder_is_refused(project: Project) -> None:
    outside = project.root.parent / "escaped"
    climb = "/.." * 40 + outside.as_posix() + "/"
    project.post("evil", title="Evil", aliases=[climb])
    result = project.build()
    assert result.exit_code == 1, result.output
    assert not outside.exists(), "the build wrote outside its output folder"
    assert "content/posts/evil.md:3: aliases:" in result.output
    assert "'..' part" in result.output
    checked = check(project)
    assert checked.exit_code == 1
    assert errors(checked.output) == errors(result.output)


def test_a_failed_path_check_leaves_the_previous_output(project: Project) -> None:
    assert project.build().exit_code == 0
    before = project.snapshot()
    project.post("evil", aliases=["/blog/%2e%2e/%2e%2e/%2e%2e/x/"])
    assert project.build().exit_code == 1
    assert project.snapshot() == before


def bad_sources(p: Project) -> None:
    """One unsafe address of every kind content can give."""
    p.post("alias", aliases=["/blog/a\\b/"])
    p.post("slugged", slug="a" * 256)
    p.post("tagged", tags=["x" * 300])
    p.post("pictured", image="/static/../../../etc/passwd")
    p.post("日本語")
    p.post("drafted", draft="true", aliases=["/blog/%2E%2e/x/"])  # drafts are checked too
    p.write(
        "content/pages/freelancers/features.md",
        "---\ntitle: F\ntemplate: ../../../../etc/passwd\n---\nx\n",
    )


def test_every_kind_of_address_is_checked_and_check_agrees_with_build(project: Project) -> None:
    bad_sources(project)
    built = project.build()
    assert built.exit_code == 1
    found = errors(built.output)
    for text in [
        "content/posts/alias.md:2: aliases: '/blog/a\\\\b/' has a backslash",
        "content/posts/slugged.md:2: slug:",
        "content/posts/tagged.md:2: tags:",
        "content/posts/pictured.md:2: image:",
        "content/posts/日本語.md:1: slug:",
        "content/posts/drafted.md:3: aliases: '/blog/%2E%2e/x/' has a percent-encoded",
        "content/pages/freelancers/features.md:3: template:",
    ]:
        assert any(text in line for line in found), f"{text!r} not in:\n{built.output}"
    assert errors(check(project).output) == found


def test_experiment_variant_names_are_checked(project: Project) -> None:
    (project.root / "site" / "experiments.toml").write_text(
        "[experiments.pricing-headline]\n"
        'tenants = ["freelancers"]\n'
        'pages = ["pricing"]\n'
        'status = "draft"\n'
        "variants = [\n"
        '  { key = "control", weight = 0.5 },\n'
        f'  {{ key = "{"v" * 300}", weight = 0.5 }},\n'
        "]\n",
        encoding="utf-8",
    )
    result = project.build()
    assert result.exit_code == 1
    assert "site/experiments.toml" in result.output
    assert "variants[1].key" in result.output
    assert "longer than 255 bytes" in result.output


def test_tenant_domain_cannot_leave_the_output_folder(project: Project) -> None:
    tenants = project.root / "site" / "tenants.toml"
    tenants.write_text(
        tenants.read_text().replace('domain = "teams.tallystack.example"', 'domain = ".."'),
        encoding="utf-8",
    )
    result = project.build()
    assert result.exit_code == 1
    assert "site/tenants.toml" in result.output
    assert "tenants.agencies.domain" in result.output
    assert not (project.root / "index.html").exists()
