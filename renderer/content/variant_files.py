"""Split-test variant files in content: which to render, and where.

A variant of a landing page is a sibling file ``<page>@<variant>.md``. While its experiment
runs it is rendered at ``/<page>@<variant>/`` (see :mod:`renderer.views.variant_pages`); a
stopped test with a declared winner is concluded: the winner's file is rendered at the page's
own URL, in place of the page; any other variant file is left out. A file no experiment of
site/experiments.toml names, and a variant with no file, are problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from floe.errors import Problem
from floe.experiments import Experiments
from renderer.content.documents import LandingPage

EXPERIMENTS_FILE = "site/experiments.toml"


@dataclass
class VariantPlan:
    """What the build does with variant files."""

    problems: list[Problem] = field(default_factory=list)
    #: Variant files not rendered under their own name: their experiment is not running.
    skipped: set[str] = field(default_factory=set)
    #: A page's file → the declared winner's page that takes its place (and its URL).
    winners: dict[str, LandingPage] = field(default_factory=dict)

    def apply(self, pages: Iterable[LandingPage]) -> list[LandingPage]:
        """``pages`` with winners in their pages' places and skipped variants left out."""
        return [
            self.winners.get(page.file, page) for page in pages if page.file not in self.skipped
        ]


def plan_variants(experiments: Experiments, pages: Sequence[LandingPage]) -> VariantPlan:
    """Check the variant files against the experiments, and say which to render where."""
    plan = VariantPlan()
    by_key = {(p.tenant, p.base, p.variant): p for p in pages}
    for page in pages:
        if page.variant is None:
            continue
        owners = [
            e
            for e in experiments.values()
            if page.tenant in e.tenants
            and page.base in e.pages
            and page.variant in [v.key for v in e.variants[1:]]
        ]
        if not owners:
            plan.problems.append(
                Problem(
                    page.file,
                    None,
                    None,
                    f"no experiment in {EXPERIMENTS_FILE} has variant {page.variant!r} of page "
                    f"{page.base!r} on tenant {page.tenant!r}",
                    "add the variant to an experiment of that page, or rename or delete the file",
                )
            )
        elif not any(e.running for e in owners):
            plan.skipped.add(page.file)
    for experiment in experiments.values():
        if experiment.running:
            wanted, hint = experiment.variants[1:], "or set the experiment's status to draft"
        elif experiment.status == "stopped" and experiment.concluded != experiment.control:
            wanted, hint = (experiment.concluded,), "or declare another winner"
        else:
            continue
        for tenant in experiment.tenants:
            for base in experiment.pages:
                for variant in wanted:
                    found = by_key.get((tenant, base, variant.key))
                    if found is None:
                        plan.problems.append(
                            Problem(
                                EXPERIMENTS_FILE,
                                experiment.line,
                                f"experiments.{experiment.key}",
                                f"variant {variant.key!r} of page {base!r} has no file",
                                f"write content/pages/{tenant}/{base}@{variant.key}.md, {hint}",
                            )
                        )
                    elif not experiment.running and (original := by_key.get((tenant, base, None))):
                        plan.winners[original.file] = replace(found, name=base)
    return plan
