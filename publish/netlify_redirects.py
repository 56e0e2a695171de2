"""The rules of a built site's ``_redirects``, read as Netlify reads the subset Floe writes: the
repository's one reader of that file.

One rule per line: ``FROM [NAME=:placeholder …] TO STATUS[!] [Cookie=NAME …]``. FROM is an exact
path or ends in ``/*`` (a splat); the query names must be present; TO is a path of the site or
a URL (a proxy); ``!`` forces the rule over a file at FROM; each cookie must be present. The
first rule whose conditions hold wins. Anything else in the file is an error, so a host that
reads these rules (the CloudFront function, the tests' edge) never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_STATUS = re.compile(r"^(\d{3})(!?)$")


@dataclass(frozen=True)
class Rule:
    source: str
    query: tuple[str, ...]
    target: str
    status: int
    force: bool
    cookies: tuple[str, ...]
    line: int

    @property
    def proxy(self) -> bool:
        """A rewrite to another origin (the dynamic service)."""
        return "://" in self.target

    @property
    def splat(self) -> bool:
        return self.source.endswith("/*")

    def matches(self, path: str, query: Iterable[str], cookies: Iterable[str]) -> bool:
        """Whether this rule applies to a request for ``path`` carrying these query parameter
        and cookie names (shadowing by an existing file is the host's business)."""
        if self.splat:
            if not path.startswith(self.source[:-1]):
                return False
        elif path != self.source:
            return False
        return set(self.query) <= set(query) and set(self.cookies) <= set(cookies)


def parse(text: str) -> list[Rule]:
    """The rules of a ``_redirects`` file, in order; ValueError names a line it cannot read."""
    return list(_rules(text))


def _rules(text: str) -> Iterator[Rule]:
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        source, rest = words[0], words[1:]
        at = next((i for i, w in enumerate(rest) if w.startswith("/") or "://" in w), None)
        status = _STATUS.match(rest[at + 1]) if at is not None and at + 1 < len(rest) else None
        query = rest[:at] if at is not None else []
        conditions = rest[at + 2 :] if at is not None else []
        if (
            not source.startswith("/")
            or at is None
            or status is None
            or not all(re.fullmatch(r"[\w-]+=:\w+", q) for q in query)
            or not all(c.startswith("Cookie=") and len(c) > len("Cookie=") for c in conditions)
        ):
            raise ValueError(f"_redirects:{number}: not a rule Floe writes: {line.strip()!r}")
        yield Rule(
            source=source,
            query=tuple(q.split("=", 1)[0] for q in query),
            target=rest[at],
            status=int(status.group(1)),
            force=bool(status.group(2)),
            cookies=tuple(c.removeprefix("Cookie=") for c in conditions),
            line=number,
        )
