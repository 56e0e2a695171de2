"""Work spread over forked processes, for the two slow parts of a build: converting markdown
and rendering pages. Forked workers inherit everything loaded so far, so only each item and
its result cross between processes. Where fork is not available, work runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_task: tuple[Callable[[Any, Any], Any], Any] | None = None


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fork_map(
    func: Callable[[Any, Item], Result],
    state: Any,
    items: Sequence[Item],
    jobs: int,
    *,
    minimum: int = 2,
    on_done: Callable[[Result], None] | None = None,
) -> list[Result]:
    """``[func(state, item) for item in items]``, in ``jobs`` forked processes when worth it.

    ``state`` is not pickled: workers inherit it. Results come back in the order of ``items``;
    ``on_done`` sees each as it arrives (for a progress bar). Fewer than ``minimum`` items run
    here, since starting workers costs more than they save.
    """
    global _task
    results: list[Result] = []
    if (
        jobs <= 1
        or len(items) < max(2, minimum)
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        for item in items:
            results.append(func(state, item))
            if on_done:
                on_done(results[-1])
        return results
    _task = (func, state)
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(items))) as pool:
            chunk = max(1, len(items) // (jobs * 8))
            for result in pool.imap(_run, items, chunksize=chunk):
                results.append(result)
                if on_done:
                    on_done(result)
        return results
    finally:
        _task = None


def _run(item: Any) -> Any:
    assert _task is not None
    func, state = _task
    return func(state, item)
