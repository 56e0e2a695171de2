"""The writers' commands besides build: new, check, list, --help."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

import build as build_cli
from tests.conftest import Project


def run(project: Project, *args: str):
    return CliRunner().invoke(build_cli.cli, ["--project", str(project.root), *args])


def test_new_creates_a_draft_that_checks_and_lists(project: Project) -> None:
    result = run(project, "new", "Invoices: a field guide!", "--tenant", "agencies")
    assert result.exit_code == 0, result.output
    path = project.content / "posts" / "invoices-a-field-guide.md"
    assert "content/posts/invoices-a-field-guide.md" in result.output
    text = path.read_text()
    assert 'title: "Invoices: a field guide!"' in text
    assert f"date: {dt.date.today().isoformat()}" in text
    assert "tenants: [agencies]" in text and "draft: true" in text
    assert run(project, "check").exit_code == 0
    listed = run(project, "list").output
    assert (
        "invoices-a-field-guide" in listed.split("freelancers")[0] + listed.split("agencies (")[1]
    )
    assert "1 draft" in listed
    # Not twice, and not for an unknown tenant.
    again = run(project, "new", "Invoices: a field guide!")
    assert again.exit_code == 1 and "already exists" in again.output
    unknown = run(project, "new", "Other", "--tenant", "hobbyists")
    assert unknown.exit_code == 2 and "no tenant named 'hobbyists'" in unknown.output


def test_check_reports_problems_with_file_and_line_and_writes_nothing(project: Project) -> None:
    assert run(project, "check").exit_code == 0
    project.post("bad", date="2026-02-30")
    project.write(
        "content/posts/draft.md",
        '---\ntitle: D\ndate: 2026-01-01\ndraft: true\n---\n\n{% snippet "gone" %}\n',
    )
    result = run(project, "check")
    assert result.exit_code == 1
    assert "content/posts/bad.md:2: date: '2026-02-30' is not a valid date" in result.output
    assert 'content/posts/draft.md:7: snippet "gone" not found' in result.output  # drafts too
    assert "Check failed: 2 problems." in result.output
    assert not project.out.exists()


def test_list_shows_live_draft_and_scheduled_posts(project: Project) -> None:
    project.post("old", date="2025-01-01", tenants=["freelancers"])
    project.post("later", date="2999-01-01")
    project.post("wip", draft=True, tenants=["agencies"])
    result = run(project, "list")
    assert result.exit_code == 0, result.output
    freelancers, agencies = result.output.split("agencies (")
    assert "1 live, 0 draft, 1 scheduled" in freelancers
    assert "0 live, 1 draft, 1 scheduled" in agencies
    assert "2025-01-01  live       old" in freelancers and "old" not in agencies
    assert "2999-01-01  scheduled  later" in agencies


@pytest.mark.parametrize("command", ["build", "check", "new", "list"])
def test_help(command: str) -> None:
    result = CliRunner().invoke(build_cli.cli, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_build_reports_phases_summary_and_warnings(sample: Project) -> None:
    """Not on a terminal: one line per phase, then a line per tenant and the warnings."""
    (sample.content / "snippets" / "orphan.md").write_text("Nobody includes me.\n")
    result = sample.build("--clean")
    assert result.exit_code == 0, result.output
    assert "Converting markdown: " in result.output and "Rendering pages: " in result.output
    assert "freelancers: 37 files (37 written, 0 unchanged, 0 removed, 1 warnings)" in result.output
    assert "warning: content/snippets/orphan.md: not included by any post or page" in result.output
    again = sample.build()
    assert "freelancers: 37 files, nothing changed" in again.output
    assert "warning: content/snippets/orphan.md" in again.output  # still said, never lost
