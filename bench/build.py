"""Build benchmark: Floe against the naive Flask-FlatPages + Frozen-Flask build, same corpus.

    python bench/build.py                  # N=2000 posts, 2 tenants, 3 runs each
    python bench/build.py -n 500 -n 2000 -n 8000 --runs 3

For each N it generates a deterministic corpus (bench/corpus.py) and measures, as medians of
--runs runs, each a whole `python …` process timed from start to exit:

  (a) the baseline: bench/naive_site.py, one FlatPages + Frozen-Flask app per tenant
  (b) Floe's cold full build (empty output, no cache)
  (c) a rebuild with nothing changed
  (d) a rebuild after editing one post
  (e) a rebuild after editing a snippet included by 5% of the posts
  (f) the peak memory of the cold build (largest process, RSS)

and prints each figure with its ratio to (a), measured in the same run of this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import SHARED_SNIPPET, generate

REPO = Path(__file__).resolve().parent.parent
TODAY = "2026-11-21"


def run(command: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB, largest process of the tree) of one command."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}\n{errors.read().decode()[-3000:]}")
    return seconds, usage.ru_maxrss


def floe(project: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(REPO / "build.py"),
        "--project",
        str(project),
        "build",
        "--out",
        str(out),
        "--today",
        TODAY,
        *extra,
    ]


def edit_post(project: Path, i: int) -> None:
    post = project / "content" / "posts" / f"post-{(i * 7) % 100:05d}.md"
    post.write_text(post.read_text() + f"\nAn added sentence, edit {i}.\n")


def edit_snippet(project: Path, i: int) -> None:
    snippet = project / "content" / "snippets" / f"{SHARED_SNIPPET}.md"
    snippet.write_text(snippet.read_text() + f"\nUpdated note {i}.\n")


def measure(n: int, runs: int, work: Path) -> dict[str, float]:
    project = generate(work / f"corpus-{n}", n)
    naive, cold, cold_rss = [], [], []
    for _ in range(runs):
        out = work / "naive-out"
        shutil.rmtree(out, ignore_errors=True)
        naive.append(
            run([sys.executable, str(REPO / "bench" / "naive_site.py"), str(project), str(out)])[0]
        )
        out = work / "floe-out"
        shutil.rmtree(out, ignore_errors=True)
        seconds, rss = run(floe(project, out))
        cold.append(seconds)
        cold_rss.append(rss)
    out = work / "floe-out"
    unchanged = [run(floe(project, out))[0] for _ in range(runs)]
    one_post, snippet = [], []
    for i in range(runs + 1):  # the first edit of each kind warms the spare trees up
        edit_post(project, i)
        seconds = run(floe(project, out))[0]
        if i:
            one_post.append(seconds)
    for i in range(runs + 1):
        edit_snippet(project, i)
        seconds = run(floe(project, out))[0]
        if i:
            snippet.append(seconds)
    return {
        "a": statistics.median(naive),
        "b": statistics.median(cold),
        "c": statistics.median(unchanged),
        "d": statistics.median(one_post),
        "e": statistics.median(snippet),
        "f": max(cold_rss) / 1024,
    }


def cell(r: dict[str, float], key: str) -> str:
    return f"{r[key]:6.2f} s {r['a'] / r[key]:5.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-n", "--posts", type=int, action="append", help="corpus size (repeatable); default 2000"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    sizes = args.posts or [2000]
    print(f"cores: {len(os.sched_getaffinity(0))}, runs per figure: {args.runs}, 2 tenants")
    header = (
        f"{'N':>6} | {'(a) naive':>10} | {'(b) cold':>16} | {'(c) no change':>16} | "
        f"{'(d) one post':>16} | {'(e) snippet 5%':>16} | {'(f) peak MiB':>12}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="floe-bench-") as tmp:
        for n in sizes:
            r = measure(n, args.runs, Path(tmp))

            print(
                f"{n:>6} | {r['a']:8.2f} s | {cell(r, 'b'):>16} | {cell(r, 'c'):>16} | "
                f"{cell(r, 'd'):>16} | {cell(r, 'e'):>16} | {r['f']:12.0f}",
                flush=True,
            )
    print("ratios: (a) divided by the figure, so higher is faster than the naive build")


if __name__ == "__main__":
    main()
