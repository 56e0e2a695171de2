"""Link-check benchmark: the HTML parser (lxml) against the regular expression it replaced.

    python bench/linkcheck.py              # N=2000 posts, 2 tenants, best of 5 runs
    python bench/linkcheck.py -n 8000 --runs 3

Builds a deterministic corpus (bench/corpus.py) once, then reads the links of every built HTML
page of both tenants, as the build's link check does, (a) with the regular expression over
the page bytes that the build used before (kept here as the baseline), (b) with lxml.html's
iterlinks() and (c) with renderer.engine.linkcheck (lxml's parser, one pass over the elements);
then the whole check_links() of both sites with each. Prints each figure and its ratio to the
baseline, measured in the same run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.html

from bench.corpus import generate
from renderer.engine import linkcheck
from renderer.engine.output import RESERVED

REPO = Path(__file__).resolve().parent.parent
TODAY = "2026-11-21"

_URL_ATTRIBUTE = re.compile(
    rb"""\s(href|src|srcset|poster|action)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I
)
_CSS_URL = re.compile(rb"""url\(\s*['"]?([^'")\s]+)""")


def regex_links(html: bytes) -> Iterator[str]:
    """The link reader the build used before lxml: a regular expression over the bytes."""
    for match in _URL_ATTRIBUTE.finditer(html):
        raw = match.group(2) or match.group(3) or match.group(4) or b""
        value = unescape(raw.decode())
        if match.group(1).lower() == b"srcset":
            for candidate in value.split(","):
                if candidate.strip():
                    yield candidate.split()[0]
        else:
            yield value
    for match in _CSS_URL.finditer(html):
        yield unescape(match.group(1).decode())


_HTML_PARSER = lxml.html.HTMLParser(encoding="utf-8")


def iterlinks_links(html: bytes) -> Iterator[str]:
    """lxml's own ``iterlinks()`` (with srcset and poster, which it does not list): the same
    links as renderer.engine.linkcheck, for comparison."""
    document = lxml.html.document_fromstring(html, parser=_HTML_PARSER)
    for _element, _attribute, link, _position in document.iterlinks():
        yield link
    for value in document.xpath("//@srcset | //@imagesrcset | //@poster"):
        if value.attrname == "poster":
            yield str(value)
        else:
            yield from linkcheck.srcset_urls(value)


def best(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--posts", type=int, default=2000, help="corpus size")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (best)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="floe-bench-links-") as tmp:
        project = generate(Path(tmp) / "corpus", args.posts)
        out = Path(tmp) / "out"
        command = [sys.executable, str(REPO / "build.py"), "--project", str(project), "build"]
        subprocess.run(
            [*command, "--out", str(out), "--today", TODAY], check=True, capture_output=True
        )
        # Each tenant's build/<domain> link; builds/ and current/ hold the same sites again.
        sites = sorted(
            p for p in out.iterdir() if not p.name.startswith(".") and p.name not in RESERVED
        )
        pages = [
            (site.resolve().name if site.is_symlink() else site.name, "/" + rel, data)
            for site in sites
            for rel, data in (
                (f.relative_to(site).as_posix(), f.read_bytes())
                for f in sorted(site.rglob("*.html"))
            )
            if (site / "index.html").is_file()
        ]
        size = sum(len(data) for _, _, data in pages) / 2**20
        print(
            f"{len(pages)} HTML pages ({size:.0f} MiB) of {len(sites)} sites, best of {args.runs}"
        )

        def read_all() -> None:
            for domain, url, data in pages:
                linkcheck.internal_links(data, url, domain)

        def check_all() -> None:
            for site in sites:
                problems, _ = linkcheck.check_links(site, site.name)
                assert not problems, problems[:3]

        figures = {}
        parsed = linkcheck.iter_links
        readers = (("regex", regex_links), ("iterlinks", iterlinks_links), ("lxml", parsed))
        for name, reader in readers:
            linkcheck.iter_links = reader
            try:
                figures[name] = (best(args.runs, read_all), best(args.runs, check_all))
            finally:
                linkcheck.iter_links = parsed
        base_read, base_check = figures["regex"]
        print(f"{'':24} | {'read links':>18} | {'check_links()':>18}")
        for name, (read, check) in figures.items():
            label = {
                "regex": "(a) regex (baseline)",
                "iterlinks": "(b) lxml iterlinks()",
                "lxml": "(c) renderer.engine.linkcheck",
            }[name]
            print(
                f"{label:24} | {read:8.3f} s {read / base_read:5.2f}x | "
                f"{check:8.3f} s {check / base_check:5.2f}x"
            )
        print("ratios: the figure divided by (a), so lower is faster")


if __name__ == "__main__":
    main()
