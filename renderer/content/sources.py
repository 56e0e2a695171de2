"""Everything one build reads, loaded and checked together so all problems are reported at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from dataclasses import dataclass, field

from pygments.styles import STYLES, get_all_styles

from floe.errors import Problem, SourceError
from floe.experiments import Experiments, load_experiments
from floe.progress import Progress
from floe.tenants import TenantRegistry, load_tenants
from floe.tomlsource import read_toml
from renderer.content import variant_files
from renderer.content.catalog import Catalog, build_catalogs
from renderer.content.corpus import load_corpus
from renderer.content.documents import Corpus, LandingPage, Post
from renderer.content.flatpages_adapter import ContentReader
from renderer.content.markdown import Rendered
from renderer.content.record_store import RecordStore
from renderer.engine.paths import ProjectPaths
from renderer.views.asset_urls import AssetManifest, read_static


@dataclass
class Sources:
    paths: ProjectPaths
    tenants: TenantRegistry
    corpus: Corpus
    catalogs: dict[str, Catalog]
    manifests: dict[str, AssetManifest]
    experiments: Experiments
    #: Things worth fixing that do not stop a build.
    warnings: list[Problem] = field(default_factory=list)

    def warnings_for(self, tenant: str) -> list[Problem]:
        catalog = self.catalogs[tenant]
        files = {p.file for p in catalog.posts} | {p.file for p in catalog.pages.values()}
        return [
            w for w in self.warnings if w.file in files or w.file.startswith("content/snippets/")
        ]


def load_sources(
    paths: ProjectPaths,
    *,
    drafts: bool = False,
    today: dt.date | None = None,
    reader: ContentReader | None = None,
    conversions: MutableMapping[str, Rendered] | None = None,
    related: MutableMapping[tuple, list[str]] | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    records: RecordStore | None = None,
) -> Sources:
    """Load tenants and content and check them; raise :class:`SourceError` with every problem.

    ``records`` reuses the last build's content records (see :mod:`renderer.content.record_store`).
    """
    try:
        tenants = load_tenants(paths.tenants_file, display_path="site/tenants.toml")
    except SourceError as exc:
        raise SourceError([*exc.problems, *_content_problems(paths, drafts, today)]) from None
    problems: list[Problem] = []
    styles = _code_styles({tenant.theme.code_style for tenant in tenants.values()})
    for tenant in tenants.values():
        if tenant.theme.code_style not in styles:
            problems.append(
                Problem(
                    "site/tenants.toml",
                    None,
                    f"tenants.{tenant.key}.theme.code_style",
                    f"unknown Pygments style {tenant.theme.code_style!r}",
                    "for example: " + ", ".join(sorted(styles)[:6]) + " …",
                )
            )
    static = read_static(paths.static)
    manifests = {key: AssetManifest(static, tenant) for key, tenant in tenants.items()}
    for tenant in tenants.values():
        for name in ("image", "logo"):
            value = getattr(tenant, name)
            if value and value.removeprefix("/static/") not in static:
                problems.append(
                    Problem(
                        "site/tenants.toml",
                        None,
                        f"tenants.{tenant.key}.{name}",
                        f"no file site{value}",
                        "put the file in site/static/",
                    )
                )
    try:
        corpus = load_corpus(
            paths.content,
            tenants,
            drafts=drafts,
            today=today,
            reader=reader,
            display_root=paths.root,
            assets=static,
            conversions=conversions,
            jobs=jobs,
            progress=progress,
            records=records,
        )
    except SourceError as exc:
        raise SourceError([*problems, *exc.problems]) from None
    experiments, variants = _experiments(paths, tenants, corpus, problems)
    if variants.skipped or variants.winners:
        corpus.pages = variants.apply(corpus.pages)
    catalogs, link_problems = build_catalogs(corpus, tenants, related)
    problems.extend(link_problems)
    for page in corpus.pages:
        if paths.find_template(page.tenant, page.template) is None:
            problems.append(
                Problem(
                    page.file,
                    page.lines.get("template"),
                    "template",
                    f"template {page.template!r} not found",
                    f"create site/templates/{page.template} or choose an existing one",
                )
            )
    if problems:
        raise SourceError(problems)
    return Sources(
        paths, tenants, corpus, catalogs, manifests, experiments, content_warnings(corpus)
    )


def _experiments(
    paths: ProjectPaths, tenants: TenantRegistry, corpus: Corpus, problems: list[Problem]
) -> tuple[Experiments, variant_files.VariantPlan]:
    """site/experiments.toml, checked against the pages; which variant files to render where."""
    pages = {
        key: {p.base for p in corpus.pages if p.tenant == key and not p.variant} for key in tenants
    }
    try:
        experiments = load_experiments(
            paths.experiments_file, tenants, pages, display_path=variant_files.EXPERIMENTS_FILE
        )
    except SourceError as exc:  # reported alone: variant files would only add noise
        problems.extend(exc.problems)
        return Experiments({}), variant_files.VariantPlan()
    plan = variant_files.plan_variants(experiments, corpus.pages)
    problems.extend(plan.problems)
    return experiments, plan


def _code_styles(wanted: set[str]) -> set[str]:
    """Pygments' styles: the built-in ones when they have every ``wanted`` style, else all.

    Listing plugin styles reads every installed package's entry points: only worth it when a
    tenant names a style Pygments does not ship.
    """
    builtin = {name for _module, name, _aliases in STYLES.values()}
    return builtin if wanted <= builtin else set(get_all_styles())


#: Search engines show about this many characters of a description.
DESCRIPTION_LIMIT = 160


def content_warnings(corpus: Corpus) -> list[Problem]:
    warnings = []
    used = {name for record in [*corpus.posts, *corpus.pages] for name in record.snippets}
    for name, snippet in sorted(corpus.snippets.items()):
        if name not in used:
            warnings.append(
                Problem(
                    snippet.file,
                    None,
                    None,
                    "not included by any post or page",
                    'delete it, or include it with {% snippet "' + name + '" %}',
                )
            )
    records: list[Post | LandingPage] = [*corpus.posts, *corpus.pages]
    for record in records:
        if len(record.description) > DESCRIPTION_LIMIT:
            warnings.append(
                Problem(
                    record.file,
                    record.lines.get("description"),
                    "description",
                    f"{len(record.description)} characters: search results cut it "
                    f"after about {DESCRIPTION_LIMIT}",
                    "shorten it",
                )
            )
    return warnings


def _content_problems(paths: ProjectPaths, drafts: bool, today: dt.date | None) -> list[Problem]:
    """Content problems found with only the tenant names, when tenants.toml itself has problems.

    So one run reports everything it can, not just the first file's mistakes.
    """
    try:
        read = read_toml(paths.tenants_file, "site/tenants.toml")
    except (OSError, SourceError):
        return []
    tables = read[1].get("tenants") if read is not None else None
    if not isinstance(tables, dict) or not tables:
        return []
    try:
        load_corpus(
            paths.content,
            dict.fromkeys(tables),
            drafts=drafts,
            today=today,
            display_root=paths.root,
        )
    except SourceError as exc:
        return exc.problems
    return []
