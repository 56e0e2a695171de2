"""Files that are not UTF-8: a problem naming the file, line and byte, not a traceback."""

from __future__ import annotations

from click.testing import CliRunner

import build as build_cli
from tests.conftest import Project

LATIN1_POST = "---\ntitle: Café\ndate: 2026-02-01\n---\n\nUn caf\xe9 cr\xe8me.\n".encode("latin-1")


def check(project: Project):
    return CliRunner().invoke(build_cli.cli, ["--project", str(project.root), "check"])


def test_a_post_snippet_and_page_not_in_utf8_are_reported_with_the_rest(project: Project) -> None:
    assert project.build().exit_code == 0
    before = project.snapshot()
    (project.content / "posts" / "cafe.md").write_bytes(LATIN1_POST)
    (project.content / "snippets" / "note.md").write_bytes(b"ok\r\nbad \xff\r\n")
    project.post("uses-note", body='{% snippet "note" %}')
    (project.content / "pages" / "agencies" / "about.md").write_bytes(
        b"---\ntitle: About \x80\n---\n"
    )
    project.post("undated", date="")  # another problem, reported with them
    for result in (project.build(), project.build(), check(project)):  # cached and not
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        out = result.output
        assert (
            "content/posts/cafe.md:2: not UTF-8 at byte 14 (0xe9) (save the file as UTF-8)" in out
        )
        assert "content/snippets/note.md:2: not UTF-8 at byte 8 (0xff)" in out  # \r\n counted
        assert "content/pages/agencies/about.md:2: not UTF-8 at byte 17 (0x80)" in out
        assert "content/posts/undated.md" in out
        assert "4 problems" in out
    assert project.snapshot() == before


def test_a_toml_file_not_in_utf8_is_reported(project: Project) -> None:
    for name in ("tenants.toml", "experiments.toml"):
        path = project.root / "site" / name
        original = path.read_bytes() if path.exists() else None
        path.write_bytes(b"# r\xe9glages\n")
        result = project.build()
        assert result.exit_code == 1, result.output
        assert f"site/{name}:1: not UTF-8 at byte 3 (0xe9)" in result.output
        assert "Traceback" not in result.output
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)
