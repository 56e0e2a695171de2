"""Split tests in the static build: every variant of a page under a running test is rendered
(canonical to its page, out of the sitemap), pages under test carry their mark and script,
`_redirects` routes by assignment cookie (read with Netlify's own parser), and bad variant
files or definitions fail the build with the file and what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

import build as build_cli
from tests.conftest import REPO, Project
from tests.helpers.netlify import parse_redirects

JS = REPO / "tests" / "js"
ORIGIN = "https://app.tallystack.example"


def html(path: Path):
    return lxml.html.parse(str(path)).getroot()


def test_variants_are_rendered_and_point_to_their_page(sample_build: Project) -> None:
    site = sample_build.site()
    page, variant = (
        html(site / "pricing" / "index.html"),
        html(site / "pricing@annual" / "index.html"),
    )
    assert page.get("data-experiment") == variant.get("data-experiment") == "pricing-annual-first"
    assert (page.get("data-variant"), variant.get("data-variant")) == ("control", "annual")
    assert variant.get("data-control") == "control" and variant.get("data-page") == "pricing"
    canonical = "https://tallystack.example/pricing/"
    assert page.xpath("//link[@rel='canonical']/@href") == [canonical]
    assert variant.xpath("//link[@rel='canonical']/@href") == [canonical]
    assert "two months free: Solo is $120 a year" in variant.text_content()
    for doc in (page, variant):
        [script] = doc.xpath("//script[contains(@src, '/js/split.')]/@src")
        assert (site / script.lstrip("/")).is_file()
    sitemap = (site / "sitemap.xml").read_text()
    assert "/pricing/" in sitemap and "@" not in sitemap
    home = html(site / "index.html")  # not under test: no mark, no script
    assert home.get("data-experiment") is None
    assert not home.xpath("//script[contains(@src, '/js/split.')]")
    assert not (sample_build.site("agencies") / "pricing@annual").exists()


def test_netlify_reads_the_rules_of_each_split_test(sample_build: Project) -> None:
    parsed = parse_redirects(sample_build.site() / "_redirects")
    assert parsed["errors"] == []
    rules = [r for r in parsed["redirects"] if r["from"] == "/pricing/"]
    service = f"{ORIGIN}/app/split/page/pricing/"
    assert [(r["to"], r["status"], r["force"], r["conditions"]) for r in rules] == [
        (f"{service}?floe_force=:force", 200, True, {}),
        ("/pricing@annual/", 200, True, {"Cookie": "floe_x_pricing-annual-first_annual"}),
        ("/pricing/index.html", 200, True, {"Cookie": "floe_x_pricing-annual-first_control"}),
        ("/pricing/index.html", 200, True, {"Cookie": "floe_x_pricing-annual-first_none"}),
        (service, 200, True, {}),
    ]
    assert rules[0]["query"] == {"floe_force": ":force"}
    assert rules[-1]["proxy"] is True and rules[0]["proxy"] is True
    everything = parsed["redirects"]
    assert everything.index(rules[-1]) < len(everything) - 1  # before the /app/* proxy
    assert everything[-1]["from"] == "/app/*"
    agencies = parse_redirects(sample_build.site("agencies") / "_redirects")
    assert not [r for r in agencies["redirects"] if r["conditions"]]


def test_a_draft_experiment_renders_no_variant(sample: Project) -> None:
    toml = sample.root / "site" / "experiments.toml"
    toml.write_text(toml.read_text().replace('status = "running"', 'status = "draft"'))
    result = sample.build()
    assert result.exit_code == 0, result.output
    site = sample.site()
    assert not (site / "pricing@annual").exists()
    assert html(site / "pricing" / "index.html").get("data-experiment") is None
    assert "Cookie=" not in (site / "_redirects").read_text()


def test_editing_experiments_rebuilds_like_a_clean_build(sample: Project) -> None:
    assert sample.build().exit_code == 0
    toml = sample.root / "site" / "experiments.toml"
    toml.write_text(toml.read_text().replace('status = "running"', 'status = "stopped"'))
    assert sample.build().exit_code == 0
    incremental = sample.snapshot()
    assert sample.build("--clean").exit_code == 0
    assert sample.snapshot() == incremental
    assert not (sample.site() / "pricing@annual").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: (s.content / "pages" / "freelancers" / "pricing@annual.md").unlink(),
            "site/experiments.toml:18: experiments.pricing-annual-first: variant 'annual' of "
            "page 'pricing' has no file (write content/pages/freelancers/pricing@annual.md",
        ),
        (
            lambda s: shutil.copy(
                s.content / "pages" / "freelancers" / "pricing.md",
                s.content / "pages" / "freelancers" / "pricing@monthly.md",
            ),
            "content/pages/freelancers/pricing@monthly.md: no experiment in "
            "site/experiments.toml has variant 'monthly' of page 'pricing'",
        ),
        (
            lambda s: (s.root / "site" / "experiments.toml").write_text(
                (s.root / "site" / "experiments.toml")
                .read_text()
                .replace('["pricing"]', '["prices"]')
            ),
            "experiments.pricing-annual-first.pages: tenant 'freelancers' has no page 'prices'",
        ),
    ],
)
def test_bad_split_tests_fail_the_build_and_keep_the_output(
    sample: Project, change, message
) -> None:
    assert sample.build().exit_code == 0
    before = sample.snapshot()
    change(sample)
    result = sample.build()
    assert result.exit_code == 1 and message in result.output, result.output
    assert sample.snapshot() == before


def stop(project: Project, *args: str):
    return CliRunner().invoke(
        build_cli.cli, ["--project", str(project.root), "experiment", "stop", *args]
    )


def test_stopping_with_a_winner_serves_it_at_the_page_own_url(sample: Project) -> None:
    assert sample.build().exit_code == 0
    toml = sample.root / "site" / "experiments.toml"
    comments = [line for line in toml.read_text().splitlines() if line.startswith("#")]

    result = stop(sample, "pricing-annual-first", "--winner", "annual")

    assert result.exit_code == 0, result.output
    assert "/pricing/ will show 'annual' to every visitor" in result.output
    text = toml.read_text()
    assert 'status = "stopped"' in text and 'winner = "annual"' in text
    assert [line for line in text.splitlines() if line.startswith("#")] == comments
    assert sample.build().exit_code == 0
    incremental = sample.snapshot()
    site = sample.site()
    page = html(site / "pricing" / "index.html")
    assert "$120/year" in page.text_content()  # the annual variant's words, at /pricing/
    assert page.get("data-experiment") is None  # no split script: nothing left to test
    assert page.cssselect('link[rel="canonical"]')[0].get("href") == (
        "https://tallystack.example/pricing/"
    )
    assert not (site / "pricing@annual").exists()
    assert "Cookie=" not in (site / "_redirects").read_text()
    assert sample.build("--clean").exit_code == 0
    assert sample.snapshot() == incremental


def test_stopping_without_a_winner_shows_the_control(sample: Project) -> None:
    toml = sample.root / "site" / "experiments.toml"
    toml.write_text(
        toml.read_text()
        .replace("coverage = 1.0", 'coverage = 1.0\nwinner = "annual"')
        .replace('status = "running"', 'status = "stopped"')
    )
    result = stop(sample, "pricing-annual-first")
    assert result.exit_code == 0, result.output
    assert "will show 'control'" in result.output
    assert "winner" not in toml.read_text().split("[experiments.pricing-annual-first]")[1]
    assert sample.build().exit_code == 0
    text = html(sample.site() / "pricing" / "index.html").text_content()
    assert "$12/mo" in text and "$120/year" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nope"],
            "site/experiments.toml: experiments.nope: no experiment 'nope' "
            "(the experiments are: pricing-annual-first)",
        ),
        (
            ["pricing-annual-first", "--winner", "yearly"],
            "site/experiments.toml:18: experiments.pricing-annual-first: 'yearly' is not a "
            "variant of 'pricing-annual-first' (the variants are: control, annual)",
        ),
    ],
)
def test_stopping_a_wrong_experiment_or_variant_changes_nothing(
    sample: Project, args, message
) -> None:
    toml = sample.root / "site" / "experiments.toml"
    before = toml.read_bytes()
    result = stop(sample, *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Not changed" in result.output
    assert toml.read_bytes() == before
    assert [p.name for p in toml.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("coverage = 1.0", 'coverage = 1.0\nwinner = "annual"'),
            "site/experiments.toml:23: experiments.pricing-annual-first.winner: a winner is "
            "declared, but the status is 'running'",
        ),
        (
            lambda t: t.replace('status = "running"', 'status = "stopped"').replace(
                "coverage = 1.0", 'coverage = 1.0\nwinner = "yearly"'
            ),
            "experiments.pricing-annual-first.winner: 'yearly' is not one of the variants "
            "(the variants are: control, annual)",
        ),
    ],
)
def test_a_wrong_winner_fails_the_build(sample: Project, edit, message) -> None:
    toml = sample.root / "site" / "experiments.toml"
    toml.write_text(edit(toml.read_text()))
    result = sample.build()
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Build failed: 1 problem." in result.output  # not the variant file it makes orphan


def test_a_winner_without_its_file_fails_the_build(sample: Project) -> None:
    assert stop(sample, "pricing-annual-first", "--winner", "annual").exit_code == 0
    (sample.content / "pages" / "freelancers" / "pricing@annual.md").unlink()
    result = sample.build()
    assert result.exit_code == 1
    assert (
        "experiments.pricing-annual-first: variant 'annual' of page 'pricing' has no file "
        "(write content/pages/freelancers/pricing@annual.md, or declare another winner)"
    ) in result.output
