#!/usr/bin/env python
"""Floe's command line for writers: ``python build.py`` builds every tenant's site.

Run ``python build.py --help`` for the commands.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from floe.errors import SourceError
from renderer.freeze import build_sites
from renderer.sources import ProjectPaths

PROJECT_DIR = Path(__file__).resolve().parent


def _report(error: SourceError) -> None:
    count = len(error.problems)
    for problem in error.problems:
        click.secho("error: ", fg="red", bold=True, nl=False, err=True)
        click.echo(str(problem), err=True)
    click.secho(
        f"Build failed: {count} problem{'s' if count != 1 else ''}. "
        "The previous output was left as it was.",
        fg="red",
        err=True,
    )


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="NAME",
    help="Build only this tenant (repeatable). Default: every tenant.",
)
@click.option("--drafts", is_flag=True, help="Include drafts and posts dated in the future.")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Build as if today were this date (posts dated later are left out).",
)
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=PROJECT_DIR,
    show_default="this folder",
    help="The Floe project to build (holds content/ and site/).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the sites go.  [default: PROJECT/build]",
)
@click.pass_context
def cli(
    ctx: click.Context,
    tenants: tuple[str, ...],
    drafts: bool,
    today: dt.datetime | None,
    project_dir: Path,
    out_dir: Path | None,
) -> None:
    """Build each tenant's static site from content/ into build/<domain>/.

    With no command, builds; the options apply to the build.
    """
    ctx.obj = ProjectPaths(project_dir.resolve())
    if ctx.invoked_subcommand is None:
        ctx.invoke(build, tenants=tenants, drafts=drafts, today=today, out_dir=out_dir)


@cli.command()
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="NAME",
    help="Build only this tenant (repeatable). Default: every tenant.",
)
@click.option("--drafts", is_flag=True, help="Include drafts and posts dated in the future.")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Build as if today were this date (posts dated later are left out).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the sites go.  [default: PROJECT/build]",
)
@click.pass_obj
def build(
    paths: ProjectPaths,
    tenants: tuple[str, ...],
    drafts: bool,
    today: dt.datetime | None,
    out_dir: Path | None,
) -> None:
    """Build the sites: every tenant, or those named by --tenant."""
    out = (out_dir or paths.root / "build").resolve()
    try:
        results = build_sites(
            paths,
            out,
            tenants=tenants or None,
            drafts=drafts,
            today=today.date() if today else None,
        )
    except SourceError as error:
        _report(error)
        sys.exit(1)
    for result in results:
        click.echo(
            f"{result.tenant}: {result.pages} files → {result.output} ({result.seconds:.2f} s)"
        )


if __name__ == "__main__":
    cli()
