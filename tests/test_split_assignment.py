"""Split-test assignment: the same variant as GrowthBook's own SDK for every visitor id, stable,
and in the proportions the weights and coverage ask for; bad definitions name their field."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import pytest
from growthbook import Experiment as GrowthBookExperiment
from growthbook import GrowthBook

from floe.errors import SourceError
from floe.experiments import Experiment, Variant, load_experiments

TENANTS = {"freelancers": None, "agencies": None}
PAGES = {"freelancers": {"home", "pricing"}, "agencies": {"home", "pricing"}}


def visitor_ids(count: int, seed: int = 7) -> list[str]:
    chance = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_"
    return ["".join(chance.choices(alphabet, k=chance.randint(8, 32))) for _ in range(count)]


def experiment(weights, coverage=1.0, seed="", key="pricing-page") -> Experiment:
    variants = tuple(Variant(f"v{i}", w) for i, w in enumerate(weights))
    return Experiment(key, ("freelancers",), ("pricing",), variants, coverage, "running", seed)


@pytest.mark.parametrize(
    ("weights", "coverage", "seed"),
    [
        ((0.5, 0.5), 1.0, ""),
        ((0.5, 0.5), 0.4, ""),
        ((0.2, 0.8), 1.0, "spring-pricing"),
        ((0.34, 0.33, 0.33), 0.75, ""),
        ((0.1, 0.2, 0.3, 0.4), 0.05, "a-seed"),
        ((0.0, 1.0), 1.0, ""),
    ],
)
def test_assignment_matches_the_growthbook_sdk(weights, coverage, seed) -> None:
    ours = experiment(weights, coverage, seed)
    theirs = GrowthBookExperiment(
        key=ours.key,
        variations=[v.key for v in ours.variants],
        weights=list(weights),
        coverage=coverage,
        hashVersion=2,
        seed=seed or None,
    )
    mismatches = []
    for visitor in visitor_ids(10_000):
        result = GrowthBook(attributes={"id": visitor}).run(theirs)
        expected = result.value if result.inExperiment else None
        variant = ours.assign(visitor)
        if (variant.key if variant else None) != expected:
            mismatches.append((visitor, variant, expected))
    assert mismatches == []


def test_a_visitor_keeps_its_variant() -> None:
    test = experiment((0.5, 0.5))
    for visitor in visitor_ids(200):
        assert len({test.assign(visitor) for _ in range(3)}) == 1


def test_even_weights_split_visitors_evenly() -> None:
    test = experiment((0.5, 0.5))
    control = sum(test.assign(v) == test.control for v in visitor_ids(10_000, seed=1))
    assert 4_800 <= control <= 5_200


def test_coverage_leaves_the_rest_out() -> None:
    test = experiment((0.5, 0.5), coverage=0.4)
    out = sum(test.assign(v) is None for v in visitor_ids(10_000, seed=2))
    assert 5_800 <= out <= 6_200


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiments.toml"
    path.write_text(text)
    return path


GOOD = """
[experiments.pricing-headline]
tenants = ["freelancers"]
pages = ["pricing"]
status = "running"
coverage = 0.5

[[experiments.pricing-headline.variants]]
key = "control"
weight = 0.5

[[experiments.pricing-headline.variants]]
key = "annual-first"
weight = 0.5
"""


def test_definitions_load(tmp_path: Path) -> None:
    loaded = load_experiments(write(tmp_path, GOOD), TENANTS, PAGES)
    test = loaded["pricing-headline"]
    assert test.control.key == "control" and test.coverage == 0.5 and test.running
    assert loaded.running_on("freelancers", "pricing") == [test]
    assert loaded.running_on("agencies") == []
    assert load_experiments(tmp_path / "none.toml", TENANTS) == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                'weight = 0.5\n\n[[experiments.pricing-headline.variants]]\nkey = "annual-first"\nweight = 0.5',
                'weight = 0.5\n\n[[experiments.pricing-headline.variants]]\nkey = "annual-first"\nweight = 0.6',
            ),
            "experiments.pricing-headline.variants: the weights add up to 1.1, not 1",
        ),
        (
            ('tenants = ["freelancers"]', 'tenants = ["nobody"]'),
            "experiments.pricing-headline.tenants: unknown tenant 'nobody'",
        ),
        (
            ('pages = ["pricing"]', 'pages = ["prices"]'),
            "experiments.pricing-headline.pages: tenant 'freelancers' has no page 'prices'",
        ),
        (
            ('key = "annual-first"', 'key = "control"'),
            "experiments.pricing-headline.variants[1].key: duplicate variant key 'control'",
        ),
        (
            ('status = "running"', 'status = "on"'),
            "experiments.pricing-headline.status: 'on' is not a status",
        ),
        (
            ("coverage = 0.5", "coverage = 5"),
            "experiments.pricing-headline.coverage: 5 is not a share between 0 and 1",
        ),
        (
            ("coverage = 0.5", "coverage = 0.5\ncolour = 'red'"),
            "experiments.pricing-headline.colour: unknown field",
        ),
    ],
)
def test_bad_definitions_name_the_experiment_and_field(tmp_path, change, message) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(SourceError) as raised:
        load_experiments(write(tmp_path, GOOD.replace(old, new)), TENANTS, PAGES)
    problems = [str(p) for p in raised.value.problems]
    where = re.compile(re.escape(str(tmp_path / "experiments.toml")) + r":\d+: ")
    assert any(message in p and where.match(p) for p in problems), problems


def test_two_running_experiments_on_one_page_are_refused(tmp_path: Path) -> None:
    second = GOOD.replace("pricing-headline", "pricing-layout")
    with pytest.raises(SourceError, match="already under running experiment 'pricing-headline'"):
        load_experiments(write(tmp_path, GOOD + second), TENANTS, PAGES)


def test_invalid_toml_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"experiments\.toml:3: invalid TOML"):
        load_experiments(write(tmp_path, "[experiments.a]\nx = 1\ny = \n"), TENANTS)
