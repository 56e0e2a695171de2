"""A synthetic Floe project for benchmarks: N posts shaped like real SEO posts, deterministic
for a seed (the same seed and N give a byte-identical project).

Each post has about 960 words of prose (intro, five to seven ``##`` sections, one with a
``###`` subsection, a bulleted and often a numbered list, bold, emphasis and code spans), a
table, a 16-line code block of its own (generated from the post's seed: its identifiers,
literals and statements vary) in one of six languages Pygments highlights, three to five links
to other posts by file and one to a landing page. One post in twenty includes a shared snippet;
half the posts are on both tenants, a quarter on each one alone.

    python bench/corpus.py PROJECT [N]      # write a project
    python bench/corpus.py --stats [N]      # words per post, languages, snippets, tenants
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import statistics
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TENANTS = ("freelancers", "agencies")
#: The snippet that 5% of posts include; bench/build.py edits it.
SHARED_SNIPPET = "shared-note"
#: Prose words per post (code, tables and the snippet's text not counted): the mode of a
#: triangular distribution from ``WORDS_MIN`` to ``WORDS_MAX``, so also its mean.
WORDS_TARGET, WORDS_MIN, WORDS_MAX = 960, 840, 1080
CODE_LINES = 16
DOMAIN = [
    "invoice",
    "hours",
    "rate",
    "client",
    "project",
    "budget",
    "team",
    "timesheet",
    "billable",
    "report",
    "export",
    "tax",
    "payment",
    "reminder",
    "schedule",
    "approval",
    "retainer",
    "estimate",
    "margin",
    "utilisation",
    "contract",
    "scope",
    "deadline",
    "review",
    "weekly",
    "monthly",
    "quarter",
    "studio",
    "freelancer",
    "agency",
    "workflow",
    "template",
    "account",
    "summary",
    "total",
    "overdue",
    "balance",
    "currency",
    "expense",
    "receipt",
    "mileage",
    "deposit",
    "milestone",
    "quote",
    "discount",
    "fee",
    "transfer",
    "entry",
    "timer",
    "calendar",
    "spreadsheet",
    "ledger",
    "cash",
    "income",
    "day",
    "week",
    "month",
    "year",
    "price",
    "plan",
]
#: Tags come from the first 24 domain words, two per post.
TAG_WORDS = DOMAIN[:24]
COMMON = [
    "the",
    "a",
    "an",
    "your",
    "each",
    "every",
    "for",
    "with",
    "and",
    "or",
    "to",
    "of",
    "in",
    "on",
    "at",
    "by",
    "from",
    "before",
    "after",
    "when",
    "if",
    "so",
    "but",
    "is",
    "are",
    "was",
    "can",
    "should",
    "will",
    "it",
    "this",
    "that",
    "you",
    "we",
    "they",
    "most",
    "more",
    "less",
    "one",
    "two",
    "few",
    "many",
    "new",
    "first",
    "last",
    "next",
    "same",
    "clear",
    "simple",
    "small",
    "late",
    "keep",
    "send",
    "track",
    "set",
    "check",
    "split",
    "round",
    "bill",
    "agree",
    "start",
    "add",
    "write",
    "show",
    "make",
    "take",
    "pay",
    "charge",
    "count",
    "share",
    "note",
    "ask",
    "save",
    "earn",
    "because",
    "without",
    "once",
    "still",
    "often",
]
LANDING_LINKS = ("/pricing/", "/features/", "/blog/")


# -- prose ------------------------------------------------------------------------------------


def _word(rng: random.Random) -> str:
    return rng.choice(COMMON) if rng.random() < 0.55 else rng.choice(DOMAIN)


def _words(rng: random.Random, count: int) -> list[str]:
    return [_word(rng) for _ in range(count)]


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _sentence(rng: random.Random, words: int = 14) -> str:
    return _capital(" ".join(_words(rng, words))) + "."


def _sentence_lengths(rng: random.Random, total: int) -> list[int]:
    lengths = []
    while total > 0:
        length = total if total <= 24 else rng.randint(8, min(22, total - 8))
        lengths.append(length)
        total -= length
    return lengths


class _Paragraph:
    """A paragraph of exactly ``words`` words, as sentences of tokens that can be decorated
    (bold, emphasis, code spans, links) without changing the count."""

    def __init__(self, rng: random.Random, words: int):
        self.sentences = [_words(rng, n) for n in _sentence_lengths(rng, words)]
        self.marked: set[tuple[int, int]] = set()

    def _span(self, rng: random.Random, width: int) -> tuple[list[str], int] | None:
        for _ in range(8):
            sentence = rng.randrange(len(self.sentences))
            tokens = self.sentences[sentence]
            if len(tokens) < width + 1:
                continue
            start = rng.randint(1, len(tokens) - width)
            cells = {(sentence, k) for k in range(start, start + width)}
            if not cells & self.marked:
                self.marked |= cells
                return tokens, start
        return None

    def wrap(self, rng: random.Random, width: int, before: str, after: str) -> None:
        found = self._span(rng, width)
        if found:
            tokens, start = found
            tokens[start] = before + tokens[start]
            tokens[start + width - 1] += after

    def code(self, rng: random.Random) -> None:
        found = self._span(rng, 1)
        if found:
            tokens, start = found
            tokens[start] = f"`{_snake(rng, 2)}`"

    def text(self) -> str:
        out = []
        for tokens in self.sentences:
            sentence = " ".join(tokens)
            end = "?" if len(tokens) % 9 == 0 else "."
            out.append(sentence[0].upper() + sentence[1:] + end)
        return " ".join(out)


def _title(rng: random.Random, words: int) -> str:
    return _capital(" ".join(_words(rng, words)))


def _description(rng: random.Random) -> str:
    """120 to 155 characters, as content/README.md asks."""
    text = _capital(" ".join(_words(rng, 12)))
    while len(text) < 119:
        word = _word(rng)
        if len(text) + 1 + len(word) < 155:
            text += " " + word
    return text + "."


# -- code -------------------------------------------------------------------------------------

RESOURCES = ["invoices", "time-entries", "projects", "clients", "expenses", "payments", "reports"]
FIELDS = ["hours", "amount", "rate", "total", "status", "project", "client", "day", "currency"]


def _snake(rng: random.Random, parts: int) -> str:
    return "_".join(rng.sample(DOMAIN[:43], parts))


def _camel(rng: random.Random, parts: int) -> str:
    first, *rest = rng.sample(DOMAIN[:43], parts)
    return first + "".join(p.capitalize() for p in rest)


def _pascal(rng: random.Random, parts: int) -> str:
    return "".join(p.capitalize() for p in rng.sample(DOMAIN[:43], parts))


def _python(rng: random.Random) -> tuple[list[str], int, Callable[[], str]]:
    func, acc, item = _snake(rng, 2), _snake(rng, 2), rng.choice(["entry", "row", "item", "it"])
    key, value, test = rng.sample(FIELDS, 3)
    resource, limit = rng.choice(RESOURCES), rng.choice([25, 50, 100, 200, 500])
    lines = [
        f"import {rng.choice(['csv', 'json', 'os', 'statistics'])}",
        "import requests",
        "",
        f'API = "https://api.tallystack.example/v{rng.randint(1, 3)}"',
        "",
        "",
        f"def {func}(token: str, limit: int = {limit}) -> dict[str, float]:",
        f'    """{_sentence(rng, rng.randint(5, 9))}"""',
    ]
    at = len(lines)
    lines += [
        f'    resp = requests.get(f"{{API}}/{resource}", params={{"limit": limit}},',
        '                        headers={"Authorization": f"Bearer {token}"}, '
        f"timeout={rng.randint(5, 30)})",
        "    resp.raise_for_status()",
    ]
    op, floor = rng.choice([">", ">=", "!=", "<"]), rng.randint(0, 90)
    if rng.random() < 0.5:
        lines += [
            f"    {acc}: dict[str, float] = {{}}",
            f'    for {item} in resp.json()["data"]:',
            f'        if {item}["{test}"] {op} {floor}:',
            f'            {acc}[{item}["{key}"]] = {acc}.get({item}["{key}"], 0) '
            f'+ {item}["{value}"]',
            f"    return {acc}",
        ]
    else:
        lines += [
            f'    rows = [r for r in resp.json()["data"] if r["{test}"] != "{rng.choice(DOMAIN)}"]',
            f"    factor = {rng.uniform(0.5, 1.5):.2f}",
            f'    return {{r["{key}"]: round(r["{value}"] * factor, 2) for r in rows}}',
        ]

    def pad() -> str:
        name = _snake(rng, 2)
        return rng.choice(
            [
                f"    {name} = {rng.randint(2, 999)}  # {' '.join(_words(rng, 4))}",
                f'    {name} = "{rng.choice(DOMAIN)}-{rng.randint(1, 99)}"',
                f"    # {_capital(' '.join(_words(rng, rng.randint(5, 9))))}.",
            ]
        )

    return lines, at, pad


def _javascript(rng: random.Random) -> tuple[list[str], int, Callable[[], str]]:
    func, acc = _camel(rng, 2), _camel(rng, 2)
    key, value, test = rng.sample(FIELDS, 3)
    resource = rng.choice(RESOURCES)
    lines = [
        f'const API = "https://api.tallystack.example/v{rng.randint(1, 3)}";',
        "",
        f"export async function {func}(token, {{ limit = {rng.choice([20, 50, 100])} }} = {{}}) {{",
    ]
    at = len(lines)
    lines += [
        f"  const res = await fetch(`${{API}}/{resource}?limit=${{limit}}`, {{",
        "    headers: { Authorization: `Bearer ${token}` },",
        "  });",
        f"  if (!res.ok) throw new Error(`{resource}: ${{res.status}}`);",
        "  const { data } = await res.json();",
    ]
    if rng.random() < 0.5:
        lines += [
            f"  const {acc} = new Map();",
            "  for (const row of data) {",
            f'    if (row.{test} === "{rng.choice(DOMAIN)}") continue;',
            f"    {acc}.set(row.{key}, ({acc}.get(row.{key}) ?? 0) + row.{value});",
            "  }",
            f"  return Object.fromEntries({acc});",
        ]
    else:
        lines += [
            "  return data",
            f"    .filter((row) => row.{test} > {rng.randint(0, 90)})",
            f"    .map((row) => ({{ {key}: row.{key}, "
            f"{value}: row.{value} * {rng.uniform(0.5, 2):.2f} }}));",
        ]
    lines += ["}"]

    def pad() -> str:
        name = _camel(rng, 2)
        return rng.choice(
            [
                f"  const {name} = {rng.randint(2, 999)}; // {' '.join(_words(rng, 4))}",
                f'  const {name} = "{rng.choice(DOMAIN)}-{rng.randint(1, 99)}";',
                f"  // {_capital(' '.join(_words(rng, rng.randint(5, 9))))}.",
            ]
        )

    return lines, at, pad


def _sql(rng: random.Random) -> tuple[list[str], int, Callable[[], str]]:
    table, other = rng.sample(["entries", "invoices", "projects", "clients", "expenses"], 2)
    group, measure = rng.choice(["project", "client", "team", "currency"]), rng.choice(FIELDS[:4])
    alias = _snake(rng, 2)
    lines = [
        f"-- {_capital(' '.join(_words(rng, rng.randint(5, 10))))}.",
        f"WITH {alias} AS (",
        f"  SELECT e.{group}, SUM(e.{measure}) AS {measure}, COUNT(*) AS n",
        f"  FROM {table} AS e",
        f"  JOIN {other} AS o ON o.id = e.{other[:-1]}_id",
        f"  WHERE e.day >= DATE '2026-{rng.randint(1, 12):02d}-01'",
    ]
    at = len(lines)
    lines += [
        f"  GROUP BY e.{group}",
        ")",
        f"SELECT {group}, {measure}, n,",
        f"       ROUND({measure} * 1.0 / n, 2) AS per_row",
        f"FROM {alias}",
        f"WHERE n > {rng.randint(1, 20)}",
        f"ORDER BY {measure} {rng.choice(['DESC', 'ASC'])}",
        f"LIMIT {rng.choice([10, 20, 50])};",
    ]

    def pad() -> str:
        return rng.choice(
            [
                f"    AND e.{rng.choice(FIELDS)} <> '{rng.choice(DOMAIN)}'",
                f"    AND e.{rng.choice(FIELDS[:4])} > {rng.randint(0, 500)}",
                f"    AND o.status IN ('{rng.choice(DOMAIN)}', '{rng.choice(DOMAIN)}')",
            ]
        )

    return lines, at, pad


def _bash(rng: random.Random) -> tuple[list[str], int, Callable[[], str]]:
    resource, out = rng.choice(RESOURCES), _snake(rng, 2)
    lines = [
        "#!/usr/bin/env bash",
        "set -euo pipefail",
        "",
        f'API="https://api.tallystack.example/v{rng.randint(1, 3)}"',
        f'OUT="${{1:-{out}.csv}}"',
    ]
    at = len(lines)
    lines += [
        "",
        f'curl -sf "$API/{resource}?limit={rng.choice([50, 100, 500])}" \\',
        '  -H "Authorization: Bearer $TALLY_TOKEN" \\',
        f"  | jq -r '.data[] | [.{rng.choice(FIELDS)}, .{rng.choice(FIELDS)}] | @csv' \\",
        '  > "$OUT"',
        "",
        'if [ "$(wc -l < "$OUT")" -gt ' + str(rng.randint(10, 900)) + " ]; then",
        f'  echo "{" ".join(_words(rng, 4))}: $OUT"',
        "fi",
    ]

    def pad() -> str:
        name = _snake(rng, 2).upper()
        return rng.choice(
            [
                f'{name}="${{{name}:-{rng.randint(1, 99)}}}"',
                f"# {_capital(' '.join(_words(rng, rng.randint(5, 9))))}.",
                f'mkdir -p "$(dirname "$OUT")"  # {" ".join(_words(rng, 3))}',
            ]
        )

    return lines, at, pad


def _go(rng: random.Random) -> tuple[list[str], int, Callable[[], str]]:
    kind, func = _pascal(rng, 2), _pascal(rng, 2)
    key, value = rng.sample(FIELDS, 2)
    lines = [
        f"type {kind} struct {{",
        f'\t{key.capitalize()} string  `json:"{key}"`',
        f'\t{value.capitalize()} float64 `json:"{value}"`',
        "}",
        "",
        f"func {func}(rows []{kind}) map[string]float64 {{",
        f"\ttotals := make(map[string]float64, {rng.choice([8, 16, 64])})",
    ]
    at = len(lines)
    lines += [
        "\tfor _, r := range rows {",
        f"\t\tif r.{value.capitalize()} {rng.choice(['<', '<=', '=='])} {rng.randint(0, 50)} {{",
        "\t\t\tcontinue",
        "\t\t}",
        f"\t\ttotals[r.{key.capitalize()}] += r.{value.capitalize()}",
        "\t}",
        "\treturn totals",
        "}",
    ]
    if rng.random() < 0.5:
        del lines[at + 1 : at + 4]  # no filter

    def pad() -> str:
        name = _camel(rng, 2)
        return rng.choice(
            [
                f"\tconst {name} = {rng.randint(2, 999)} // {' '.join(_words(rng, 4))}",
                f'\t_ = "{rng.choice(DOMAIN)}-{rng.randint(1, 99)}"',
                f"\t// {_capital(' '.join(_words(rng, rng.randint(5, 9))))}.",
            ]
        )

    return lines, at, pad


EVENTS = ["invoice.paid", "invoice.overdue", "entry.created", "project.closed", "payment.failed"]


def _yaml(rng: random.Random) -> tuple[list[str], int, Callable[[], str]]:
    name = _snake(rng, 2).replace("_", "-")
    lines = [
        f"# {_capital(' '.join(_words(rng, rng.randint(5, 10))))}.",
        "version: 2",
        "webhooks:",
        f"  - name: {name}",
        f"    url: https://hooks.{rng.choice(DOMAIN)}.example/tallystack",
        f"    events: [{', '.join(rng.sample(EVENTS, 2))}]",
        f"    secret: ${{{_snake(rng, 2).upper()}}}",
        "    retry:",
        f"      attempts: {rng.randint(2, 8)}",
        f"      backoff_seconds: {rng.choice([5, 10, 30, 60])}",
        "exports:",
        f"  - format: {rng.choice(['csv', 'xlsx', 'json'])}",
        f'    schedule: "{rng.randint(0, 59)} {rng.randint(0, 23)} * * {rng.randint(1, 5)}"',
    ]
    at = len(lines)

    def pad() -> str:
        return rng.choice(
            [
                f"    {_snake(rng, 2)}: {rng.randint(1, 500)}",
                f"    {_snake(rng, 2)}: {rng.choice(['true', 'false'])}",
                f"    {_snake(rng, 1)}: {rng.choice(DOMAIN)}-{rng.randint(1, 99)}",
            ]
        )

    return lines, at, pad


#: Pygments lexer name → generator of (lines, where padding goes, padding line maker).
LANGUAGES: dict[str, Callable[[random.Random], tuple[list[str], int, Callable[[], str]]]] = {
    "python": _python,
    "javascript": _javascript,
    "sql": _sql,
    "bash": _bash,
    "go": _go,
    "yaml": _yaml,
}


def code_block(rng: random.Random) -> tuple[str, list[str]]:
    """A language and ``CODE_LINES`` lines of code in it, made from ``rng``."""
    language = rng.choice(list(LANGUAGES))
    lines, at, pad = LANGUAGES[language](rng)
    assert len(lines) <= CODE_LINES, (language, len(lines))
    while len(lines) < CODE_LINES:
        lines.insert(at, pad())
    return language, lines


def _table(rng: random.Random) -> list[str]:
    columns = rng.choice(
        [
            ("Item", "Hours", "Rate", "Total"),
            ("Plan", "Seats", "Monthly", "Yearly"),
            ("Client", "Invoices", "Overdue", "Days to pay"),
            ("Expense", "Amount", "Tax", "Claimable"),
        ]
    )
    lines = ["| " + " | ".join(columns) + " |", "|---|---:|---:|---:|"]
    for _ in range(rng.randint(5, 8)):
        a, b = rng.randint(1, 160), rng.randint(20, 240)
        lines.append(
            f"| {_capital(rng.choice(DOMAIN))} {rng.choice(DOMAIN)} | {a} | {b} | {a * b:,} |"
        )
    return lines


# -- posts ------------------------------------------------------------------------------------


def post_rng(seed: int, i: int) -> random.Random:
    """Each post's own generator: a post's text depends on the seed, its number and N only."""
    return random.Random(f"floe-bench-corpus:{seed}:{i}")


def has_snippet(i: int) -> bool:
    """One post in twenty, half of them on both tenants (posts 0, 21, 40, 61 …)."""
    return i % 40 in (0, 21)


def post_text(i: int, n: int, rng: random.Random, start: dt.date) -> str:
    tags = sorted(rng.sample(TAG_WORDS, 2))
    lines = [
        "---",
        f'title: "{_title(rng, rng.randint(5, 8))} {i}"',
        f"date: {(start + dt.timedelta(days=i // 3)).isoformat()}",
        f'description: "{_description(rng)}"',
        f"tags: [{', '.join(tags)}]",
    ]
    if i % 2:  # half on one tenant only, a quarter each
        lines.append(f"tenants: [{TENANTS[(i // 2) % 2]}]")
    lines += ["---", ""]

    # The plan: an intro, 5 to 7 sections (one with a subsection), a conclusion.
    sections = rng.randint(5, 7)
    headings = [rng.randint(3, 7) for _ in range(sections + 2)]  # + subsection + conclusion
    paragraphs = [2] + [rng.choice([2, 2, 3]) for _ in range(sections)] + [1, 1]
    bullets = [rng.randint(6, 14) for _ in range(rng.randint(4, 6))]
    numbered = [rng.randint(6, 14) for _ in range(rng.randint(3, 5))] if rng.random() < 0.6 else []
    table_at, code_at, list_at, numbered_at, sub_at = (rng.randrange(sections) for _ in range(5))
    snippet_at = rng.randrange(sections) if has_snippet(i) else -1

    total = round(rng.triangular(WORDS_MIN, WORDS_MAX, WORDS_TARGET))
    prose = total - sum(headings) - sum(bullets) - sum(numbered)
    weights = [rng.uniform(0.7, 1.3) for _ in range(sum(paragraphs))]
    sizes = [max(12, round(prose * w / sum(weights))) for w in weights]
    sizes[-1] += prose - sum(sizes)
    blocks = [_Paragraph(rng, size) for size in sizes]
    for block in blocks:
        if rng.random() < 0.5:
            block.wrap(rng, rng.randint(2, 3), "**", "**")
        if rng.random() < 0.3:
            block.wrap(rng, 1, "*", "*")
        if rng.random() < 0.25:
            block.code(rng)
    others = list(dict.fromkeys(j for j in (rng.randrange(n) for _ in range(5)) if j != i))
    for j in others[: rng.randint(3, 5)]:
        rng.choice(blocks[:-1]).wrap(rng, rng.randint(2, 4), "[", f"](post-{j:05d}.md)")
    blocks[-1].wrap(rng, 3, "[", f"]({rng.choice(LANDING_LINKS)})")

    paragraph = iter(blocks)
    heading = iter(headings)

    def add_paragraphs(count: int) -> None:
        for _ in range(count):
            lines.extend([next(paragraph).text(), ""])

    add_paragraphs(paragraphs[0])
    for section in range(sections):
        lines += [f"## {_title(rng, next(heading))}", ""]
        count = paragraphs[1 + section]
        add_paragraphs(1)
        if section == table_at:
            lines += [*_table(rng), ""]
        if section == code_at:
            language, code = code_block(rng)
            lines += [f"```{language}", *code, "```", ""]
        if section == list_at:
            lines += [f"- {_capital(' '.join(_words(rng, k)))}" for k in bullets] + [""]
        if section == numbered_at and numbered:
            lines += [
                f"{k}. {_capital(' '.join(_words(rng, w)))}" for k, w in enumerate(numbered, 1)
            ]
            lines += [""]
        add_paragraphs(count - 1)
        if section == sub_at:
            lines += [f"### {_title(rng, next(heading))}", ""]
            add_paragraphs(1)
        if section == snippet_at:
            lines += [f'{{% snippet "{SHARED_SNIPPET}" %}}', ""]
    lines += [f"## {_title(rng, next(heading))}", ""]
    add_paragraphs(1)
    return "\n".join(lines)


def generate(root: Path, n: int, seed: int = 2026) -> Path:
    """Write a project with ``n`` posts into ``root`` (replacing it); return ``root``."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(REPO / "site", root / "site")
    shutil.copytree(REPO / "content" / "pages", root / "content" / "pages")
    snippets = root / "content" / "snippets"
    snippets.mkdir(parents=True)
    shutil.copy(REPO / "content" / "snippets" / "cta-trial.md", snippets / "cta-trial.md")
    (snippets / f"{SHARED_SNIPPET}.md").write_text(
        "> **Note:** rates and hours in this post are examples; use your own numbers.\n"
    )
    posts = root / "content" / "posts"
    posts.mkdir()
    # Three posts a day, the newest on 2026-11-01: all published whatever the size.
    start = dt.date(2026, 11, 1) - dt.timedelta(days=n // 3)
    for i in range(n):
        text = post_text(i, n, post_rng(seed, i), start)
        (posts / f"post-{i:05d}.md").write_text(text)
    return root


# -- statistics -------------------------------------------------------------------------------

_FENCE = re.compile(r"^```")
_MARKER = re.compile(r"^(#{1,6}|[-*]|\d+\.)\s+")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def prose_words(text: str) -> int:
    """Words of a post's body, without its front matter, code blocks, tables and snippet
    includes; markdown markers (``##``, ``-``, ``**``, link targets) are not words."""
    body = text.split("\n---\n", 1)[1]
    count, in_code = 0, False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code or line.startswith("|") or line.startswith("{%"):
            continue
        line = _LINK_TARGET.sub("]", _MARKER.sub("", line))
        count += sum(1 for token in line.split() if any(c.isalnum() for c in token))
    return count


def stats(n: int, seed: int = 2026) -> dict[str, object]:
    start = dt.date(2026, 11, 1) - dt.timedelta(days=n // 3)
    texts = [post_text(i, n, post_rng(seed, i), start) for i in range(n)]
    words = [prose_words(t) for t in texts]
    languages = Counter(re.search(r"^```(\w+)$", t, re.M).group(1) for t in texts)  # type: ignore[union-attr]
    return {
        "posts": n,
        "words mean": round(statistics.mean(words), 1),
        "words stdev": round(statistics.pstdev(words), 1),
        "words min": min(words),
        "words max": max(words),
        "languages": dict(sorted(languages.items())),
        "with snippet": sum("{% snippet" in t for t in texts) / n,
        "on both tenants": sum("\ntenants:" not in t for t in texts) / n,
        "post links mean": round(sum(t.count(".md)") for t in texts) / n, 2),
    }


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--stats"]:
        for key, value in stats(int(sys.argv[2]) if len(sys.argv) > 2 else 1000).items():
            print(f"{key}: {value}")
    else:
        print(generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
