"""Editing site/experiments.toml for ``python build.py experiment stop``: the file stays the
writers' (tomlkit keeps its comments, order and layout), and an edit that would leave it
invalid is never written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit

from floe.errors import Problem, SourceError
from floe.experiments import Experiment, load_experiments


def stop_experiment(
    path: Path,
    key: str,
    winner: str | None,
    tenants: Mapping[str, Any],
    *,
    display_path: str,
) -> Experiment:
    """Set ``[experiments.KEY]``'s status to stopped, with ``winner`` (or none: the control is
    shown), write the file, and return the experiment as it now reads."""
    experiments = load_experiments(path, tenants, display_path=display_path)
    if key not in experiments:
        known = ", ".join(experiments) or "none"
        raise SourceError(
            [
                Problem(
                    display_path,
                    None,
                    f"experiments.{key}",
                    f"no experiment {key!r}",
                    f"the experiments are: {known}",
                )
            ]
        )
    experiment = experiments[key]
    if winner is not None and experiment.variant(winner) is None:
        raise SourceError(
            [
                Problem(
                    display_path,
                    experiment.line,
                    f"experiments.{key}",
                    f"{winner!r} is not a variant of {key!r}",
                    f"the variants are: {', '.join(v.key for v in experiment.variants)}",
                )
            ]
        )
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    table = document["experiments"][key]
    table["status"] = "stopped"
    if winner is None:
        table.pop("winner", None)
    else:
        table["winner"] = winner
    text = tomlkit.dumps(document)
    _write_checked(path, text, tenants, display_path)
    return load_experiments(path, tenants, display_path=display_path)[key]


def _write_checked(path: Path, text: str, tenants: Mapping[str, Any], display_path: str) -> None:
    """Replace ``path`` with ``text`` only if ``text`` reads back as valid experiments."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        load_experiments(Path(temporary), tenants, display_path=display_path)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
