"""Split tests in the static build: the variant pages, the marks on pages under test, and the
rules that let the host's edge serve each visitor's variant from its assignment cookie.

A variant of a landing page is a sibling file ``<page>@<variant>.md``, rendered at
``/<page>@<variant>/`` with ``rel=canonical`` to the page and kept out of the sitemap. The
first visit without an assignment cookie goes to the dynamic service (``/app/split/page/…``),
which answers with the assigned variant's HTML and sets the cookie; later visits are rewritten
by the edge. A stopped test with a declared winner is concluded: the winner's file is rendered
at the page's own URL, in place of the page (see :mod:`renderer.content.variant_files`). See
floe.experiments for the definitions and the assignment.
"""

from __future__ import annotations

from dataclasses import dataclass

from floe.experiments import OUTSIDE, Experiments, assignment_cookie
from floe.tenants import Tenant
from renderer.content.documents import LandingPage

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
