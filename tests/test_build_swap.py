"""Publishing a build is one step: readers of build/<domain>/ see every site of the old build
or every site of the new one, never a mix and never nothing, whenever the build is killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from renderer.engine.output import CRASH_VARIABLE
from tests.conftest import REPO, TODAY, Project, published_files

DOMAINS = ("tallystack.example", "teams.tallystack.example")
TENANTS = ("freelancers", "agencies")


def build_process(project: Project, *args: str, crash_at: str | None = None, out=None):
    """``build.py build`` in a process of its own (which ``crash_at`` kills at that point)."""
    env = {k: v for k, v in os.environ.items() if k != CRASH_VARIABLE}
    if crash_at:
        env[CRASH_VARIABLE] = crash_at
    command = [sys.executable, str(REPO / "build.py"), "--project", str(project.root), "build"]
    out = out or project.out
    return subprocess.run(
        [*command, "--out", str(out), "--today", TODAY.isoformat(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def set_version(project: Project, version: int) -> None:
    """Give both tenants' home pages this version's text: one edit that changes both sites."""
    for tenant in TENANTS:
        home = project.content / "pages" / tenant / "home.md"
        lines = [line for line in home.read_text().splitlines() if "Version " not in line]
        home.write_text("\n".join([*lines, "", f"Version {version} of {tenant}."]) + "\n")


def versions(project: Project) -> set[int | None]:
    """The version each site's home page shows (None for a missing site); every site comes
    from one build folder."""
    seen, folders = set(), set()
    for domain in DOMAINS:
        home = project.out / domain / "index.html"
        if not home.is_file():
            seen.add(None)
            continue
        folders.add(Path(os.path.realpath(project.out / domain)).parent)
        text = home.read_text()
        seen.add(next(v for v in range(10) if f"Version {v} of" in text))
    assert len(folders) <= 1, f"the sites come from different builds: {folders}"
    return seen


POINTS = {
    # point where the build is killed → the version readers see then
    "staged": "old",  # every site rendered and checked, nothing published
    "linked": "old",  # the per-site links made, current not switched yet
    "published": "new",  # current switched, the cache not saved yet
    "saved": "new",  # the cache saved, old build folders not pruned yet
}


@pytest.mark.parametrize("point", POINTS)
def test_a_build_killed_at_any_step_leaves_both_sites_old_or_both_new(
    project: Project, tmp_path: Path, point: str
) -> None:
    set_version(project, 1)
    assert project.build().exit_code == 0
    set_version(project, 2)
    assert project.build().exit_code == 0  # a rebuild: the incremental path
    set_version(project, 3)

    killed = build_process(project, crash_at=point)

    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert versions(project) == {2 if POINTS[point] == "old" else 3}
    # The next build recovers, and gives what a clean build gives.
    done = project.build()
    assert done.exit_code == 0, done.output
    assert versions(project) == {3}
    clean = tmp_path / "clean"
    assert build_process(project, "--clean", out=clean).returncode == 0
    assert project.snapshot() == project.snapshot_of(clean)
    # What is kept: the current build and the one it replaced (the next build's start).
    assert len(list((project.out / "builds").iterdir())) == 2


def test_a_killed_first_build_leaves_no_half_published_site(project: Project) -> None:
    set_version(project, 1)
    killed = build_process(project, crash_at="linked")
    assert killed.returncode == -signal.SIGKILL
    assert versions(project) == {None}  # neither site, as before the build
    assert project.build().exit_code == 0
    assert versions(project) == {1}


def test_a_one_tenant_build_keeps_the_other_site_in_the_new_build(project: Project) -> None:
    set_version(project, 1)
    assert project.build().exit_code == 0
    agencies_before = {
        k: p.stat().st_ino for k, p in published_files(project.out).items() if k.startswith("teams")
    }
    set_version(project, 2)
    assert project.build("--tenant", "freelancers").exit_code == 0
    home = {d: (project.out / d / "index.html").read_text() for d in DOMAINS}
    assert "Version 2 of freelancers" in home["tallystack.example"]
    assert "Version 1 of agencies" in home["teams.tallystack.example"]  # not rebuilt
    agencies_after = {
        k: p.stat().st_ino for k, p in published_files(project.out).items() if k.startswith("teams")
    }
    assert agencies_after == agencies_before  # the same files, linked into the new build
    assert versions(project) == {1, 2}  # (from one build folder: checked by versions)


def test_readers_paths_are_links_that_never_change(project: Project) -> None:
    assert project.build().exit_code == 0
    links = {d: os.readlink(project.out / d) for d in DOMAINS}
    assert links == {d: f"current/{d}" for d in DOMAINS}
    first = os.readlink(project.out / "current")
    set_version(project, 5)
    assert project.build().exit_code == 0
    assert {d: os.readlink(project.out / d) for d in DOMAINS} == links
    assert os.readlink(project.out / "current") != first
    # The build it replaced is left as it was, for readers that resolved the link before.
    assert (project.out / first / "tallystack.example" / "index.html").is_file()


def test_the_first_build_after_the_old_layout_takes_its_place(project: Project) -> None:
    """Sites built before build folders existed are real folders: replaced by the links."""
    assert project.build().exit_code == 0
    for domain in DOMAINS:  # make it look like the old layout
        site = project.out / domain
        real = site.resolve()
        site.unlink()
        shutil.copytree(real, site)
    shutil.rmtree(project.out / "builds")
    (project.out / "current").unlink()
    (project.out / domain / "stale-file.html").write_text("from before")
    set_version(project, 4)
    done = project.build()
    assert done.exit_code == 0, done.output
    assert versions(project) == {4}
    assert all((project.out / d).is_symlink() for d in DOMAINS)
    assert not (project.out / domain / "stale-file.html").exists()


KILLER = REPO / "tests" / "helpers" / "build_crash"


def test_a_build_killed_before_any_rename_never_mixes_or_loses_sites(
    project: Project, tmp_path: Path
) -> None:
    """Kill a rebuild just before each of its renames in turn (whatever the build does, every
    change of what build/ holds is a rename or a new link): after each kill both sites are
    there, from one build, both old or both new, and the next build recovers."""
    set_version(project, 1)
    assert project.build().exit_code == 0
    set_version(project, 2)
    assert project.build().exit_code == 0
    log = tmp_path / "renames.log"
    kills = 0
    for limit in range(1, 60):
        set_version(project, 3 + limit % 2)
        log.unlink(missing_ok=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(KILLER), str(REPO)]),
            "FLOE_TEST_KILL_AT_RENAME": str(limit),
            "FLOE_TEST_RENAMES": str(log),
        }
        command = [sys.executable, str(REPO / "build.py"), "--project", str(project.root)]
        done = subprocess.run(
            [*command, "build", "--out", str(project.out), "--today", TODAY.isoformat()],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seen = versions(project)
        assert None not in seen and len(seen) == 1, (limit, seen, log.read_text())
        if done.returncode != -signal.SIGKILL:
            assert done.returncode == 0, done.stdout + done.stderr
            break
        kills += 1
        recovered = project.build()  # and the next build recovers
        assert recovered.exit_code == 0, recovered.output
        assert versions(project) == {3 + limit % 2}
    assert kills >= 3, "the build made fewer renames than expected: is the hook loaded?"


# --- the readers of build/ ---------------------------------------------------------------------


def test_an_s3_deploy_reads_the_build_it_started_with(project: Project) -> None:
    from floe.tenants import load_tenants
    from publish.site_files import scan_site
    from publish.target import target_for

    set_version(project, 1)
    assert project.build().exit_code == 0
    freelancers = load_tenants(project.root / "site" / "tenants.toml")["freelancers"]
    target = target_for(freelancers, project.out, bucket="a-bucket")
    set_version(project, 2)
    assert project.build().exit_code == 0  # finishes while the deploy is under way
    files = scan_site(target.site)
    assert "Version 1 of freelancers" in files["index.html"].path.read_text()
    assert target_for(freelancers, project.out, bucket="a-bucket").site != target.site


def test_the_service_serves_a_first_view_from_one_build_when_current_moves(
    database_url: str, tmp_path: Path, monkeypatch
) -> None:
    """A build published while the service answers a request: the request keeps reading the
    build it began with (its variant's page, not the next build's control)."""
    from dynamic.split_tests import assignment as split
    from tests.conftest import TENANT_HOST, dispose_service, migrated_service

    out = tmp_path / "build"
    for number, pages in (
        ("1", {"pricing": "CONTROL 1", "pricing@annual": "VARIANT 1"}),
        ("2", {"pricing": "CONTROL 2"}),  # the test ended: no variant page any more
    ):
        for name, text in pages.items():
            page = out / "builds" / number / TENANT_HOST / name / "index.html"
            page.parent.mkdir(parents=True)
            page.write_text(f"<!doctype html><title>{text}</title>")
    (out / "current").symlink_to("builds/1")
    (out / TENANT_HOST).symlink_to(f"current/{TENANT_HOST}")
    service = migrated_service(database_url, FLOE_BUILD_DIR=str(out))
    choose = split.page_file

    def publish_build_2_meanwhile(site: Path, path: str, variant: str | None) -> Path:
        if os.readlink(out / "current") == "builds/1":
            (out / ".next").symlink_to("builds/2")
            os.replace(out / ".next", out / "current")
        return choose(site, path, variant)

    monkeypatch.setattr(split, "page_file", publish_build_2_meanwhile)
    browser = {"Host": TENANT_HOST, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"}
    try:
        for _ in range(40):  # until a visitor gets the variant
            (out / "current").unlink()
            (out / "current").symlink_to("builds/1")
            response = service.test_client().get("/app/split/page/pricing/", headers=browser)
            assert response.status_code == 200
            assert os.readlink(out / "current") == "builds/2"  # it moved during the request
            cookies = " ".join(response.headers.getlist("Set-Cookie"))
            if "floe_x_pricing-annual-first_annual=" in cookies:
                assert "VARIANT 1" in response.text
                break
            assert "CONTROL 1" in response.text
        else:
            pytest.fail("no visitor was assigned the variant in 40 tries")
    finally:
        dispose_service(service)
