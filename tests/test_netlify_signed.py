"""The Netlify build makes each site's /app/* proxy a signed proxy rule in netlify.toml (the
only place Netlify takes `signed`), with that tenant's own dynamic origin."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from publish import netlify_redirects as redirects
from publish import netlify_signed
from tests.conftest import REPO, Project


def published(sample_build: Project, tmp_path: Path) -> tuple[Path, Path]:
    publish = tmp_path / "publish"
    shutil.copytree(sample_build.site("freelancers"), publish)
    config = tmp_path / "netlify.toml"
    shutil.copy(REPO / "netlify.toml", config)
    return publish, config


def test_the_app_proxy_moves_to_a_signed_rule(sample_build: Project, tmp_path: Path) -> None:
    publish, config = published(sample_build, tmp_path)
    before = redirects.parse((publish / "_redirects").read_text())
    assert before[-1].source == "/app/*"
    done = subprocess.run(
        [sys.executable, "-m", "publish.netlify_signed", str(publish), str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    after = redirects.parse((publish / "_redirects").read_text())
    assert [(r.source, r.target) for r in after] == [(r.source, r.target) for r in before[:-1]]
    settings = tomllib.loads(config.read_text())
    assert settings["redirects"] == [
        {
            "from": "/app/*",
            "to": "https://app.tallystack.example/app/:splat",
            "status": 200,
            "signed": "FLOE_NETLIFY_SIGNING_SECRET",
        }
    ]
    original = tomllib.loads((REPO / "netlify.toml").read_text())
    assert {k: v for k, v in settings.items() if k != "redirects"} == original
    assert config.read_text().startswith((REPO / "netlify.toml").read_text())  # comments kept


def test_a_second_run_keeps_one_rule(sample_build: Project, tmp_path: Path) -> None:
    publish, config = published(sample_build, tmp_path)
    redirects_file = (publish / "_redirects").read_text()
    netlify_signed.sign_app_proxy(publish, config)
    (publish / "_redirects").write_text(redirects_file)  # a rebuild writes it again
    netlify_signed.sign_app_proxy(publish, config)
    assert len(tomllib.loads(config.read_text())["redirects"]) == 1


def test_a_site_without_the_proxy_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "_redirects").write_text("/old/  /new/  301\n")
    (tmp_path / "netlify.toml").write_text("")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "publish.netlify_signed",
            str(tmp_path),
            str(tmp_path / "netlify.toml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "no single /app/* proxy" in done.stderr


def test_the_build_signs_only_with_the_secret_set() -> None:
    script = (REPO / "ops" / "netlify-build.sh").read_text()
    assert 'if [ -n "${FLOE_NETLIFY_SIGNING_SECRET:-}" ]' in script
    assert '-m publish.netlify_signed "$publish" netlify.toml' in script
    assert "signed" not in tomllib.loads((REPO / "netlify.toml").read_text()).get("redirects", [])
