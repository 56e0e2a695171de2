"""Split tests in the static build: the variant pages, the marks on pages under test, and the
rules that let the host's edge serve each visitor's variant from its assignment cookie.

A variant of a landing page is a sibling file ``<page>@<variant>.md``, rendered at
``/<page>@<variant>/`` with ``rel=canonical`` to the page and kept out of the sitemap. The
first visit without an assignment cookie goes to the dynamic service (``/app/split/page/…``),
which answers with the assigned variant's HTML and sets the cookie; later visits are rewritten
by the edge. A stopped test with a declared winner is concluded: the winner's file is rendered
at the page's own URL, in place of the page. See floe.experiments for the definitions and the
assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from floe.errors import Problem
from floe.experiments import OUTSIDE, Experiments, assignment_cookie
from floe.tenants import Tenant
from renderer.content.documents import LandingPage

EXPERIMENTS_FILE = "site/experiments.toml"
FORCE = "floe_force"


@dataclass(frozen=True)
class SplitMark:
    """What a page under test tells its script (``<html data-…>``)."""

    experiment: str
    variant: str
    control: str
    page: str


def mark(experiments: Experiments, tenant: str, page: LandingPage) -> SplitMark | None:
    running = experiments.running_on(tenant, page.base)
    if not running:
        return None
    experiment = running[0]
    control = experiment.control.key
    return SplitMark(experiment.key, page.variant or control, control, page.base)


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
                    elif not experiment.running and (page := by_key.get((tenant, base, None))):
                        plan.winners[page.file] = replace(found, name=base)
    return plan


def redirect_rules(experiments: Experiments, tenant: Tenant) -> list[str]:
    """Netlify ``_redirects`` lines for every page under a running test of ``tenant``.

    Per page, in order: a QA preview (``?floe_force=``) goes to the service; each variant's
    cookie rewrites to that variant's file; the control's and the outside-coverage cookies
    keep the page's own file; anything else (no cookie yet) goes to the service, which
    assigns and sets the cookie. All forced (``200!``): the page's own file exists, and an
    unforced rule would be shadowed by it. Cookie conditions test presence only, hence one
    cookie name per experiment and variant.
    """
    lines: list[str] = []
    for experiment in experiments.values():
        if not experiment.running or tenant.key not in experiment.tenants:
            continue
        for base in experiment.pages:
            path = "/" if base == "home" else f"/{base}/"
            service = f"{tenant.dynamic_origin}/app/split/page{path}"
            own = f"{path}index.html"
            lines.append(f"# split test {experiment.key}: page {path}")
            lines.append(f"{path}  {FORCE}=:force  {service}?{FORCE}=:force  200!")
            for variant in experiment.variants[1:]:
                cookie = assignment_cookie(experiment.key, variant.key)
                lines.append(f"{path}  /{base}@{variant.key}/  200!  Cookie={cookie}")
            for kept in (experiment.control.key, OUTSIDE):
                cookie = assignment_cookie(experiment.key, None if kept == OUTSIDE else kept)
                lines.append(f"{path}  {own}  200!  Cookie={cookie}")
            lines.append(f"{path}  {service}  200!")
    return lines
