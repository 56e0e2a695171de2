"""Incremental builds give exactly what a clean build gives, and rewrite only what changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import build as build_cli
from tests.conftest import TODAY, Project, published_files
from tests.helpers.edits import (
    EDITS,
    POST,
    add_post,
    delete_post,
    edit,
    edit_nested_snippet,
    edit_post_body,
    edit_post_title,
    edit_template,
)


def clean_build(project: Project, out: Path) -> dict[str, str]:
    result = CliRunner().invoke(
        build_cli.cli,
        [
            "--project",
            str(project.root),
            "build",
            "--clean",
            "--out",
            str(out),
            "--today",
            TODAY.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    return Project(project.root).snapshot_of(out)


def inodes(project: Project) -> dict[str, tuple[int, int]]:
    return {
        name: (p.stat().st_ino, p.stat().st_mtime_ns)
        for name, p in published_files(project.out).items()
    }


@pytest.mark.parametrize("change", EDITS, ids=[e.__name__ for e in EDITS])
def test_incremental_build_equals_clean_build(sample: Project, tmp_path: Path, change) -> None:
    assert sample.build().exit_code == 0
    change(sample)
    result = sample.build()
    assert result.exit_code == 0, result.output
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")


def test_nothing_changed_rewrites_no_file(sample: Project) -> None:
    assert sample.build().exit_code == 0
    before = inodes(sample)
    result = sample.build()
    assert result.exit_code == 0 and result.output.count("nothing changed") == 2
    assert inodes(sample) == before
    # An edit that changes no page (a comment) goes through the page keys: still nothing written.
    tenants = sample.root / "site" / "tenants.toml"
    tenants.write_text(tenants.read_text() + "\n# a comment\n")
    result = sample.build()
    assert result.exit_code == 0 and result.output.count("(0 written, ") == 2, result.output
    assert "0 removed" in result.output
    assert inodes(sample) == before


def changed_files(before, after) -> set[str]:
    return {f for f in after if before.get(f) != after[f]} | (set(before) - set(after))


def test_post_edit_rewrites_only_its_pages(sample: Project) -> None:
    assert sample.build().exit_code == 0
    before = inodes(sample)
    edit_post_body(sample)
    assert sample.build().exit_code == 0
    changed = changed_files(before, inodes(sample))
    # Its page and the feed (full content); the listings show only the title and description.
    assert changed == {
        "tallystack.example/blog/setting-a-day-rate/index.html",
        "tallystack.example/feed.xml",
    }


def test_template_edit_rewrites_only_pages_using_it(sample: Project) -> None:
    assert sample.build().exit_code == 0
    before = inodes(sample)
    edit_template(sample)
    assert sample.build().exit_code == 0
    changed = changed_files(before, inodes(sample))
    assert changed and all("/blog/tag/" in f for f in changed)


def test_snippet_edit_rewrites_the_posts_that_include_it(sample: Project) -> None:
    from tests.helpers.sample_corpus import corpus

    users = {p.slug for p in corpus().posts if "api-auth" in p.snippets and p.is_live(TODAY)}
    assert sample.build().exit_code == 0
    before = inodes(sample)
    edit_nested_snippet(sample)
    assert sample.build().exit_code == 0
    changed = {f for f in changed_files(before, inodes(sample)) if "/blog/" in f}
    assert {f.split("/")[2] for f in changed} == users


def test_stale_files_go_and_cache_problems_mean_a_full_build(
    sample: Project, tmp_path: Path
) -> None:
    assert sample.build().exit_code == 0
    delete_post(sample)
    assert sample.build().exit_code == 0
    assert not (sample.site("agencies") / "blog" / "measuring-utilisation-with-sqlite").exists()
    cache = sample.out / ".floe-cache" / "cache.pickle"
    cache.write_bytes(b"not a pickle")
    edit_post_body(sample)
    result = sample.build()
    assert result.exit_code == 0 and "0 unchanged" in result.output
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")
    cache.unlink()
    assert sample.build().exit_code == 0 and sample.snapshot() == clean_build(
        sample, tmp_path / "c2"
    )


def test_future_post_appears_when_its_date_comes(sample: Project, tmp_path: Path) -> None:
    import datetime as dt

    assert sample.build().exit_code == 0
    later = dt.date(2027, 3, 2)
    assert sample.build(today=later).exit_code == 0
    result = CliRunner().invoke(
        build_cli.cli,
        [
            "--project",
            str(sample.root),
            "build",
            "--clean",
            "--out",
            str(tmp_path / "c"),
            "--today",
            later.isoformat(),
        ],
    )
    assert result.exit_code == 0
    assert sample.snapshot() == sample.snapshot_of(tmp_path / "c")


def test_failed_incremental_build_leaves_output_and_cache(sample: Project) -> None:
    assert sample.build().exit_code == 0
    before = sample.snapshot()
    cache = (sample.out / ".floe-cache" / "cache.pickle").read_bytes()
    edit(sample.root / POST, "date: 2025-02-03", "date: 2025-02-30")
    assert sample.build().exit_code == 1
    assert sample.snapshot() == before
    assert (sample.out / ".floe-cache" / "cache.pickle").read_bytes() == cache
    assert not [p for p in os.listdir(sample.out) if p.startswith(".staging")]


def test_parallel_build_equals_serial_build(tmp_path: Path, monkeypatch) -> None:
    """Enough posts that markdown conversion and rendering both go to worker processes."""
    from bench.corpus import generate
    from renderer.content import markdown
    from renderer.engine import freeze, parallel

    forked = []

    def spy(func, state, items, jobs, **options):
        if jobs > 1 and len(items) >= options.get("minimum", 2):
            forked.append(func.__name__)
        return parallel.fork_map(func, state, items, jobs, **options)

    monkeypatch.setattr(freeze, "fork_map", spy)
    monkeypatch.setattr(markdown, "fork_map", spy)
    root = generate(tmp_path / "project", 80)
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}"
        result = CliRunner().invoke(
            build_cli.cli,
            [
                "--project",
                str(root),
                "build",
                "--jobs",
                jobs,
                "--out",
                str(out),
                "--today",
                TODAY.isoformat(),
            ],
        )
        assert result.exit_code == 0, result.output
        outputs.append(Project(root).snapshot_of(out))
    assert outputs[0] == outputs[1] and len(outputs[0]) > 150
    assert sorted(forked) == ["_convert", "_render_shard"]  # both ran in 2 processes


def test_template_using_the_whole_catalog_is_never_stale(sample: Project, tmp_path: Path) -> None:
    """A template may show anything; what the page keys cannot see, they depend on wholesale."""
    footer = sample.root / "site/templates/_footer.html"
    footer.write_text(
        footer.read_text().replace(
            "</footer>", "<p>{{ catalog.posts|length }} articles</p></footer>"
        )
    )
    assert sample.build().exit_code == 0
    add_post(sample)
    assert sample.build().exit_code == 0
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")
    import re

    shown = re.search(r"<p>(\d+) articles</p>", (sample.site() / "index.html").read_text())
    posts = [
        p for p in (sample.site() / "blog").glob("*/index.html") if "refresh" not in p.read_text()
    ]
    assert shown and int(shown.group(1)) == len(posts)


def test_a_second_build_of_the_same_output_waits_for_the_first(sample: Project) -> None:
    import fcntl
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    lock_path = sample.out / ".floe-cache" / "lock"
    lock_path.parent.mkdir(parents=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a running build holds it
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "build.py"),
                "--project",
                str(sample.root),
                "build",
                "--today",
                TODAY.isoformat(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Until it says it waits (a loaded machine takes seconds to start Python), then a while.
        said = ""
        deadline = time.monotonic() + 60
        while "Waiting for another build" not in said and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            said += line
        time.sleep(0.5)
        assert process.poll() is None, "the second build did not wait"
        assert not (sample.site() / "index.html").exists()
    _out, err = process.communicate(timeout=60)
    err = said + err
    assert process.returncode == 0, err
    assert "Waiting for another build" in err and (sample.site() / "index.html").is_file()


# --- the content records kept between builds (renderer/content/record_store.py) ---------------------------


def test_records_read_content_as_flatpages_does(sample: Project) -> None:
    """Reading only changed files gives the same records as Flask-FlatPages reading them all,
    line endings, byte order marks and all."""
    from floe.tenants import load_tenants
    from renderer.content.corpus import load_corpus
    from renderer.content.record_store import RecordStore, SourceFiles

    sample.write(
        "content/posts/windows-lines.md",
        "---\r\ntitle: CRLF\r\ndate: 2026-01-02\r\n---\r\n\r\nOne\r\ntwo\rthree.\r\n",
    )
    sample.write(
        "content/posts/with-bom.md", "\ufeff---\ntitle: BOM\ndate: 2026-01-03\n---\n\nText.\n"
    )
    tenants = load_tenants(sample.root / "site" / "tenants.toml")
    options = {"drafts": True, "today": TODAY}
    read_all = load_corpus(sample.content, tenants, **options)
    store = RecordStore(SourceFiles(sample.content, {}), {})
    read_each = load_corpus(sample.content, tenants, records=store, **options)
    assert read_each.posts == read_all.posts and read_each.pages == read_all.pages
    assert read_each.snippets == read_all.snippets
    again = RecordStore(SourceFiles(sample.content, store.files.state), store.entries)
    reused = load_corpus(sample.content, tenants, records=again, **options)
    assert reused.posts == read_all.posts and reused.pages == read_all.pages
    assert all(again.entries[path] is store.entries[path] for path in store.entries)


def freeze_stat(monkeypatch, path: Path) -> None:
    """Make the scan see ``path`` with the same size and times whatever happens to it, as on a
    file system whose clock ticks too slowly to tell two writes apart."""
    from renderer.engine import fingerprint

    original = fingerprint.scan_tree
    relative = path.relative_to(path.parents[2]).as_posix()  # content/posts/x.md
    frozen = {}

    def scan_tree(root, prefix, found):
        original(root, prefix, found)
        if relative in found:
            frozen.setdefault(relative, found[relative])
            found[relative] = frozen[relative]

    monkeypatch.setattr(fingerprint, "scan_tree", scan_tree)


def test_a_same_size_edit_within_one_clock_tick_is_caught(
    sample: Project, tmp_path: Path, monkeypatch
) -> None:
    """The file was racy (written just before the build scanned it), so the next build checks
    its content even though its stat did not change: no stale page, no "nothing changed"."""
    post = sample.root / POST
    post.write_text(post.read_text())  # written now: racy for the first build
    freeze_stat(monkeypatch, post)
    assert sample.build().exit_code == 0
    edit(post, "Most freelancers pick a day rate", "Most freelancers take a day rate")
    result = sample.build()
    assert result.exit_code == 0 and "nothing changed" not in result.output, result.output
    page = sample.site() / "blog" / "setting-a-day-rate" / "index.html"
    assert "Most freelancers take a day rate" in page.read_text()
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")


def test_an_edit_that_restores_the_modification_time_is_caught(
    sample: Project, tmp_path: Path, monkeypatch
) -> None:
    """Tools that put a file's old modification time back cannot put back its change time."""
    from renderer.engine import fingerprint

    monkeypatch.setattr(fingerprint, "RACY_NS", 0)  # no file counts as racy: stat only
    assert sample.build().exit_code == 0
    post = sample.root / POST
    before = post.stat()
    edit(post, "Most freelancers pick a day rate", "Most freelancers take a day rate")
    os.utime(post, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert post.stat().st_size == before.st_size
    assert sample.build().exit_code == 0
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")


def test_drafts_flag_both_ways_equals_clean_builds(sample: Project, tmp_path: Path) -> None:
    """Records of drafts are kept unconverted; --drafts then converts them, and dropping it
    leaves them out again."""
    assert sample.build().exit_code == 0
    for flags in (["--drafts"], []):
        result = sample.build(*flags)
        assert result.exit_code == 0, result.output
        clean = CliRunner().invoke(
            build_cli.cli,
            [
                "--project",
                str(sample.root),
                "build",
                "--clean",
                "--out",
                str(tmp_path / "c"),
                "--today",
                TODAY.isoformat(),
                *flags,
            ],
        )
        assert clean.exit_code == 0
        assert sample.snapshot() == sample.snapshot_of(tmp_path / "c")


def test_a_kept_record_is_checked_again_when_its_image_goes(sample: Project) -> None:
    """A post's record is reused only while the assets it names are the same."""
    sample.post("with-image", image="/static/img/reminder-timeline.svg", tenants=["agencies"])
    assert sample.build().exit_code == 0
    (sample.root / "site/static/img/reminder-timeline.svg").unlink()
    result = sample.build()
    assert result.exit_code == 1
    assert (
        "content/posts/with-image.md:2: image: no file site/static/img/reminder-timeline.svg"
        in result.output
    )


def test_a_broken_link_in_a_kept_record_names_its_line(sample: Project) -> None:
    """Deleting a post breaks the links of posts that were not read again: still a line."""
    assert sample.build().exit_code == 0
    (sample.root / "content/posts/measuring-utilisation-with-sqlite.md").unlink()
    result = sample.build()
    assert result.exit_code == 1
    assert "broken link 'measuring-utilisation-with-sqlite.md'" in result.output
    assert ".md:" in result.output.split("broken link")[0].splitlines()[-1]


def test_after_a_failed_build_the_next_one_equals_a_clean_build(
    sample: Project, tmp_path: Path
) -> None:
    """A failed build leaves its staging folder as the spare tree, changed: the next build must
    not replay the last journal on it."""
    assert sample.build().exit_code == 0
    edit_post_body(sample)
    assert sample.build().exit_code == 0
    edit(sample.root / POST, "date: 2025-02-03", "date: 2025-02-30")
    assert sample.build().exit_code == 1
    edit(sample.root / POST, "date: 2025-02-30", "date: 2025-02-03")
    edit_post_title(sample)
    assert sample.build().exit_code == 0
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")


def test_one_tenant_builds_between_full_ones(sample: Project, tmp_path: Path) -> None:
    """Each tenant's tree keeps its own journal."""
    assert sample.build().exit_code == 0
    edit_post_body(sample)
    assert sample.build("--tenant", "agencies").exit_code == 0
    edit_post_title(sample)
    assert sample.build("--tenant", "freelancers").exit_code == 0
    add_post(sample)
    assert sample.build().exit_code == 0
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")


def test_a_template_error_in_a_parallel_rebuild_is_reported(
    sample: Project, tmp_path: Path
) -> None:
    """Tenants rebuilt in processes of their own report problems as a build in one does."""
    assert sample.build("--jobs", "2").exit_code == 0
    before = sample.snapshot()
    template = sample.root / "site/templates/post.html"
    edit(template, "{% if post.draft %}", "{% if post.draft %}{% if %}")
    result = sample.build("--jobs", "2")
    assert result.exit_code == 1
    assert "site/templates/post.html:11: template error" in result.output
    assert sample.snapshot() == before
    edit(template, "{% if post.draft %}{% if %}", "{% if post.draft %}")
    edit_post_body(sample)
    assert sample.build("--jobs", "2").exit_code == 0
    assert sample.snapshot() == clean_build(sample, tmp_path / "clean")


def _square_or_fail(offset: int, item: int) -> int:
    if item < 0:
        raise ValueError(f"negative: {item}")
    return offset + item * item


def test_fork_each_keeps_order_and_raises_what_a_process_raised() -> None:
    from renderer.engine.parallel import fork_each

    assert fork_each(_square_or_fail, 1, [1, 2, 3]) == [2, 5, 10]
    with pytest.raises(ValueError, match="negative: -2"):
        fork_each(_square_or_fail, 0, [1, -2, 3])
    with pytest.raises(ValueError, match="negative: -1"):
        fork_each(_square_or_fail, 0, [-1, 2])
