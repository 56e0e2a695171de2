"""Work spread over forked processes, for the two slow parts of a build: converting markdown
and rendering pages. Forked workers inherit everything loaded so far, so only each item and
its result cross between processes. Where fork is not available, work runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import traceback
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


def fork_each(
    func: Callable[[Any, Item], Result],
    state: Any,
    items: Sequence[Item],
    *,
    on_done: Callable[[Result], None] | None = None,
) -> list[Result]:
    """``[func(state, item) for item in items]``: every item but the first in a forked process
    of its own, the first here meanwhile.

    For a few items of similar size (one per tenant), this costs one fork per item and no pool.
    Results come back in the order of ``items``. An exception in any item is raised here, once
    every process has finished.
    """
    if len(items) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return fork_map(func, state, items, 1, on_done=on_done)
    for stream in (sys.stdout, sys.stderr):  # or the children would write it again
        stream.flush()
    children = [_spawn(func, state, item) for item in items[1:]]
    outcomes: list[tuple[bool, Any]] = []
    try:
        outcomes.append((True, func(state, items[0])))
    except BaseException as error:
        outcomes.append((False, error))
    finally:
        outcomes += [_collect(pid, reader) for pid, reader in children]
    results = []
    for ok, value in outcomes:
        if not ok:
            raise value
        results.append(value)
        if on_done:
            on_done(value)
    return results


def _spawn(func: Callable[[Any, Any], Any], state: Any, item: Any) -> tuple[int, int]:
    """Fork a process that runs ``func(state, item)`` and sends back the outcome, pickled."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writer)
        return pid, reader
    try:  # the child: never return into the caller's code
        os.close(reader)
        try:
            outcome: tuple[bool, Any] = (True, func(state, item))
        except BaseException as error:
            outcome = (False, error)
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            text = "".join(traceback.format_exception(outcome[1])) if not outcome[0] else ""
            data = pickle.dumps((False, RuntimeError(f"a worker's result cannot be sent: {text}")))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(data)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    finally:
        os._exit(0)


def _collect(pid: int, reader: int) -> tuple[bool, Any]:
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return False, RuntimeError(f"worker process {pid} ended with status {status}")
    return pickle.loads(data)
