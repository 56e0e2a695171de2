#!/usr/bin/env python
"""Floe's command line for writers: ``python build.py`` builds every tenant's site.

Run ``python build.py --help`` for the commands.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import click

from floe.errors import SourceError
from floe.tenants import load_tenants
from renderer.engine import fingerprint
from renderer.engine.paths import ProjectPaths

# The renderer (Flask, Markdown, Pygments …) is imported by the commands that need it, so that
# a rebuild with nothing to do answers before loading it.

PROJECT_DIR = Path(__file__).resolve().parent


def _report(error: SourceError, failed: str = "Build failed") -> None:
    count = len(error.problems)
    for problem in error.problems:
        click.secho("error: ", fg="red", bold=True, nl=False, err=True)
        click.echo(str(problem), err=True)
    click.secho(
        f"{failed}: {count} problem{'s' if count != 1 else ''}."
        + (" The previous output was left as it was." if failed == "Build failed" else ""),
        fg="red",
        err=True,
    )


def _build_options(command):
    """The options of a build, accepted by ``build`` and by the group (``python build.py``)."""
    options = [
        click.option(
            "--tenant",
            "tenants",
            multiple=True,
            metavar="NAME",
            help="Build only this tenant (repeatable). Default: every tenant.",
        ),
        click.option(
            "--drafts", is_flag=True, help="Include drafts and posts dated in the future."
        ),
        click.option(
            "--clean", is_flag=True, help="Render every page again, ignoring the build cache."
        ),
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=1),
            metavar="N",
            help="Processes to convert and render with.  [default: one per core]",
        ),
        click.option(
            "--today",
            type=click.DateTime(["%Y-%m-%d"]),
            metavar="YYYY-MM-DD",
            help="Build as if today were this date (posts dated later are left out).",
        ),
        click.option(
            "--out",
            "out_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where the sites go.  [default: PROJECT/build]",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@_build_options
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=PROJECT_DIR,
    show_default="this folder",
    help="The Floe project to build (holds content/ and site/).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    tenants: tuple[str, ...],
    drafts: bool,
    clean: bool,
    jobs: int | None,
    today: dt.datetime | None,
    project_dir: Path,
    out_dir: Path | None,
) -> None:
    """Build each tenant's static site from content/ into build/<domain>/.

    With no command, builds; the options apply to the build.
    """
    ctx.obj = ProjectPaths(project_dir.resolve())
    if ctx.invoked_subcommand is None:
        ctx.invoke(
            build,
            tenants=tenants,
            drafts=drafts,
            clean=clean,
            jobs=jobs,
            today=today,
            out_dir=out_dir,
        )


@cli.command()
@_build_options
@click.pass_obj
def build(
    paths: ProjectPaths,
    tenants: tuple[str, ...],
    drafts: bool,
    clean: bool,
    jobs: int | None,
    today: dt.datetime | None,
    out_dir: Path | None,
) -> None:
    """Build the sites: every tenant, or those named by --tenant."""
    out = (out_dir or paths.root / "build").resolve()
    day = today.date() if today else dt.date.today()
    inputs = fingerprint.scan_inputs(paths.root, tenants, drafts, day)
    last = None if clean else fingerprint.unchanged_since_last_build(out / ".floe-cache", inputs)
    if last is not None:
        for tenant in last["tenants"]:
            click.echo(
                f"{tenant['tenant']}: {tenant['pages']} files, nothing changed → {tenant['output']}"
            )
        _warnings(sorted({w for tenant in last["tenants"] for w in tenant.get("warnings", [])}))
        return
    from renderer.engine.site_build import build_sites

    started = time.perf_counter()
    try:
        with _progress() as progress:
            results = build_sites(
                paths,
                out,
                tenants=tenants or None,
                clean=clean,
                drafts=drafts,
                today=day,
                inputs=inputs,
                jobs=jobs,
                progress=progress,
            )
    except SourceError as error:
        _report(error)
        sys.exit(1)
    for result in results:
        warned = f", {len(result.warnings)} warnings" if result.warnings else ""
        click.echo(
            f"{result.tenant}: {result.pages} files ({result.written} written, "
            f"{result.unchanged} unchanged, {result.removed} removed{warned}) → {result.output} "
            f"in {result.seconds:.2f} s"
        )
    _warnings(sorted({str(w) for result in results for w in result.warnings}))
    click.echo(f"Built in {time.perf_counter() - started:.2f} s.")


def _warnings(lines: list[str]) -> None:
    for line in lines:
        click.secho("warning: ", fg="yellow", bold=True, nl=False, err=True)
        click.echo(line, err=True)


@contextlib.contextmanager
def _progress():
    """A progress bar on a terminal; one line per phase when the output goes elsewhere."""
    if not sys.stderr.isatty():
        yield _PhaseLines()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _Bar(bar)


class _PhaseLines:
    def start(self, phase: str, total: int) -> None:
        click.echo(f"{phase}: {total}", err=True)

    def advance(self, steps: int = 1) -> None:
        pass


class _Bar:
    def __init__(self, bar) -> None:
        self.bar, self.task = bar, None

    def start(self, phase: str, total: int) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(phase, total=total)

    def advance(self, steps: int = 1) -> None:
        self.bar.advance(self.task, steps)


@cli.command()
@click.option("--tenant", metavar="NAME", help="The tenant to preview.  [default: the first]")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--no-drafts", is_flag=True, help="Hide drafts and scheduled posts, as the live site does."
)
@click.pass_obj
def serve(paths: ProjectPaths, tenant: str | None, port: int, no_drafts: bool) -> None:
    """Preview one tenant's site on 127.0.0.1, reloading the page when a source is saved.

    Pages are rendered on request, drafts and scheduled posts included. Save a post, snippet,
    template or TOML file and the open page refreshes; a mistake is shown in the page.
    """
    from renderer.engine.preview import serve as run_preview

    registry = load_tenants(paths.tenants_file, display_path="site/tenants.toml")
    name = tenant or next(iter(registry))
    if name not in registry:
        raise click.BadParameter(
            f"no tenant named {name!r} (known: {', '.join(registry)})", param_hint="--tenant"
        )
    run_preview(paths, name, "127.0.0.1", port, drafts=not no_drafts)


@cli.command()
@click.pass_obj
def check(paths: ProjectPaths) -> None:
    """Check content, snippets, links between posts and templates; write nothing.

    Drafts and scheduled posts are checked too. Exits 1 when anything is wrong, so it can run
    as a pre-commit hook.
    """
    from renderer.content.sources import load_sources

    try:
        sources = load_sources(paths, drafts=True)
    except SourceError as error:
        _report(error, "Check failed")
        sys.exit(1)
    posts, pages = len(sources.corpus.posts), len(sources.corpus.pages)
    click.echo(
        f"OK: {posts} posts, {pages} pages, {len(sources.corpus.snippets)} snippets, "
        f"{len(sources.tenants)} tenants."
    )


@cli.command()
@click.argument("title")
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="NAME",
    help="Publish on this tenant only (repeatable). Default: every tenant.",
)
@click.pass_obj
def new(paths: ProjectPaths, title: str, tenants: tuple[str, ...]) -> None:
    """Start a post titled TITLE, as a draft dated today, in content/posts/."""
    registry = load_tenants(paths.tenants_file, display_path="site/tenants.toml")
    for name in tenants:
        if name not in registry:
            raise click.BadParameter(
                f"no tenant named {name!r} (known: {', '.join(registry)})", param_hint="--tenant"
            )
    from renderer.content.documents import tag_slug

    slug = tag_slug(title)
    if not slug:
        raise click.BadParameter("the title needs at least one letter or digit", param_hint="TITLE")
    path = paths.content / "posts" / f"{slug}.md"
    if path.exists():
        raise click.ClickException(
            f"{path.relative_to(paths.root)} already exists: choose another title"
        )
    lines = [
        "---",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        f"date: {dt.date.today().isoformat()}",
        'description: ""',
        "tags: []",
        *([f"tenants: [{', '.join(tenants)}]"] if tenants else []),
        "draft: true",
        "---",
        "",
    ]
    text = "\n".join(lines) + "\n"
    text += "Write the introduction here.\n\n## A first section\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"Created {path.relative_to(paths.root)} (a draft: remove 'draft: true' to publish)")


@cli.group()
def experiment() -> None:
    """Split tests in site/experiments.toml."""


@experiment.command("stop")
@click.argument("key")
@click.option(
    "--winner",
    metavar="VARIANT",
    help="The variant every visitor gets from now on, at the page's own URL.  "
    "[default: none: the control]",
)
@click.pass_obj
def experiment_stop(paths: ProjectPaths, key: str, winner: str | None) -> None:
    """Stop the experiment KEY: set its status to stopped (and its winner) in
    site/experiments.toml, keeping the file's comments and layout.

    The next build renders the winner's file at the page's own URL and drops the edge's
    split-test rules, so returning visitors stop getting their old variant once the sites
    are deployed.
    """
    from floe.experiment_edit import stop_experiment

    try:
        tenants = load_tenants(paths.tenants_file, display_path="site/tenants.toml")
        stopped = stop_experiment(
            paths.experiments_file,
            key,
            winner,
            tenants,
            display_path="site/experiments.toml",
        )
    except SourceError as error:
        _report(error, "Not changed")
        sys.exit(1)
    shown = stopped.concluded.key
    pages = ", ".join("/" if p == "home" else f"/{p}/" for p in stopped.pages)
    click.echo(
        f"site/experiments.toml: {key} stopped; {pages} will show {shown!r} to every visitor."
    )
    click.echo("Now rebuild and deploy: python build.py, then deploy the sites.")


@cli.command("list")
@click.option("--tenant", "tenants", multiple=True, metavar="NAME", help="Only this tenant.")
@click.pass_obj
def list_posts(paths: ProjectPaths, tenants: tuple[str, ...]) -> None:
    """List posts per tenant, newest first: live, draft or scheduled, with their dates."""
    from renderer.content.sources import load_sources

    try:
        sources = load_sources(paths, drafts=True)
    except SourceError as error:
        _report(error, "Cannot list")
        sys.exit(1)
    today = dt.date.today()
    for key, tenant in sources.tenants.items():
        if tenants and key not in tenants:
            continue
        posts = [p for p in sources.corpus.posts if key in p.tenants]
        states = [_state(p, today) for p in posts]
        counts = ", ".join(f"{states.count(s)} {s}" for s in ("live", "draft", "scheduled"))
        click.secho(f"{key} ({tenant.domain}): {counts}", bold=True)
        for post, state in zip(posts, states, strict=True):
            home = "" if post.canonical_tenant == key else f"  (canonical: {post.canonical_tenant})"
            click.echo(f"  {post.date}  {state:<9}  {post.slug}  {post.title}{home}")


@cli.group()
def deploy() -> None:
    """Publish a tenant's built site.

    Build it first: python build.py --tenant NAME.
    """


@deploy.command("s3")
@click.option("--tenant", required=True, metavar="NAME", help="The tenant whose site to deploy.")
@click.option("--bucket", metavar="NAME", help="The bucket.  [default: the tenant's s3_bucket]")
@click.option(
    "--endpoint-url",
    metavar="URL",
    help="An S3-compatible store.  [default: boto3's configuration, e.g. AWS_ENDPOINT_URL_S3]",
)
@click.option("--dry-run", is_flag=True, help="List what would change; change nothing.")
@click.option(
    "--delete/--no-delete",
    default=False,
    show_default=True,
    help="Delete the keys the build no longer has, once every upload succeeded.",
)
@click.option(
    "--invalidate/--no-invalidate",
    default=None,
    help="Invalidate the changed paths on CloudFront.  [default: when the tenant has a "
    "cloudfront_distribution]",
)
@click.option(
    "--force", is_flag=True, help="Upload every file, even unchanged (after a caching change)."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the sites were built.  [default: PROJECT/build]",
)
@click.pass_obj
def deploy_s3(
    paths: ProjectPaths,
    tenant: str,
    bucket: str | None,
    endpoint_url: str | None,
    dry_run: bool,
    delete: bool,
    invalidate: bool | None,
    force: bool,
    out_dir: Path | None,
) -> None:
    """Sync a tenant's build/<domain>/ to its S3 bucket.

    New and changed files go first, stale keys last (with --delete); then the changed paths are
    invalidated on CloudFront.

    Credentials, region and endpoint come from boto3's configuration (environment variables,
    profile). The bucket and distribution are set in site/tenants.toml: [tenants.NAME.deploy]
    s3_bucket and cloudfront_distribution.
    """
    from publish import DeployError
    from publish.s3 import deploy_site
    from publish.target import make_clients, target_for

    try:
        registry = load_tenants(paths.tenants_file, display_path="site/tenants.toml")
    except SourceError as error:
        _report(error, "Cannot deploy")
        sys.exit(1)
    if tenant not in registry:
        raise click.BadParameter(
            f"no tenant named {tenant!r} (known: {', '.join(registry)})", param_hint="--tenant"
        )
    out = (out_dir or paths.root / "build").resolve()
    try:
        target = target_for(registry[tenant], out, bucket, invalidate)
        s3, cloudfront = make_clients(endpoint_url)
        with _progress() as progress:
            result = deploy_site(
                target.site,
                target.bucket,
                s3,
                cloudfront=cloudfront,
                distribution=target.distribution,
                delete=delete,
                dry_run=dry_run,
                force=force,
                progress=progress,
            )
    except DeployError as error:
        click.secho("error: ", fg="red", bold=True, nl=False, err=True)
        click.echo(str(error), err=True)
        sys.exit(1)
    for line in result.actions(delete) if dry_run else ():
        click.echo(f"  {line}")
    click.echo(f"{registry[tenant].domain} → {result.summary()}")
    if result.invalidation:
        click.echo(
            f"CloudFront {target.distribution}: {len(result.invalidated)} paths invalidated "
            f"({result.invalidation})."
        )


def _state(post, today: dt.date) -> str:
    if post.draft:
        return "draft"
    return "scheduled" if post.date > today else "live"


def main() -> None:
    """Run the command line, then end the process without tearing the interpreter down.

    By the time a command returns, every file is written and closed and every worker process
    has been waited for. What Python would still do at exit is free, one by one, the hundreds
    of thousands of objects a build loads (and collect garbage among them once more): about a
    tenth of a rebuild's time, for nothing.
    """
    try:
        cli()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # as sys.exit("message") does
        code = 1
    with contextlib.suppress(OSError):  # a closed pipe: nothing more to say
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
