"""A synthetic Floe project for benchmarks: N realistic posts, deterministic for a seed.

Posts have headings, paragraphs, a list, a table, a code block, links to other posts by file
and, for 5% of them, a shared snippet. Half are on both tenants, the rest on one.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TENANTS = ("freelancers", "agencies")
#: The snippet that 5% of posts include; bench/build.py edits it.
SHARED_SNIPPET = "shared-note"
WORDS = [
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
]
CODE = {
    "python": """
import requests

resp = requests.get("https://api.tallystack.example/v1/time-entries",
                    headers={"Authorization": f"Bearer {token}"}, timeout=10)
for entry in resp.json()["data"]:
    print(entry["project"], entry["hours"])
""",
    "javascript": """
const res = await fetch("https://api.tallystack.example/v1/invoices", {
  headers: { Authorization: `Bearer ${token}` },
});
const { data } = await res.json();
console.log(data.filter((i) => i.status === "overdue").length);
""",
    "bash": """
curl -s https://api.tallystack.example/v1/projects \\
  -H "Authorization: Bearer $TOKEN" | jq '.data[] | .name'
""",
    "sql": """
SELECT project, SUM(hours) AS billable
FROM entries
WHERE billable = 1 AND day >= '2026-01-01'
GROUP BY project
ORDER BY billable DESC;
""",
}


def _sentence(rng: random.Random, words: int = 14) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(9, 18)) for _ in range(rng.randint(3, 5)))


def post_text(i: int, n: int, rng: random.Random, start: dt.date) -> str:
    tags = sorted(rng.sample(WORDS[:24], 2))
    lines = [
        "---",
        f'title: "{_sentence(rng, 6)[:-1]} {i}"',
        f"date: {(start + dt.timedelta(days=i // 3)).isoformat()}",
        f'description: "{_sentence(rng, 16)}"',
        f"tags: [{', '.join(tags)}]",
    ]
    if i % 2:  # half on one tenant only
        lines.append(f"tenants: [{TENANTS[(i // 2) % 2]}]")
    lines += ["---", "", _paragraph(rng), ""]
    for section in range(3):
        lines += [f"## {_sentence(rng, 4)[:-1]}", "", _paragraph(rng), ""]
        if section == 0:
            lines += [f"- {_sentence(rng, 6)}" for _ in range(4)] + [""]
            lines += ["| Item | Hours | Rate |", "|---|---:|---:|"]
            lines += [
                f"| {rng.choice(WORDS)} | {rng.randint(1, 40)} | {rng.randint(40, 160)} |"
                for _ in range(4)
            ]
            lines += [""]
        if section == 1:
            language = list(CODE)[i % len(CODE)]
            lines += [f"```{language}", CODE[language].strip(), "```", ""]
            others = [j for j in (rng.randrange(n), rng.randrange(n)) if j != i]
            links = " and ".join(f"[post {j}](post-{j:05d}.md)" for j in others)
            if links:
                lines += [f"See also {links}.", ""]
        if section == 2 and i % 20 == 0:  # 5% of posts
            lines += [f'{{% snippet "{SHARED_SNIPPET}" %}}', ""]
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
    rng = random.Random(seed)
    # Three posts a day, the newest on 2026-11-01: all published whatever the size.
    start = dt.date(2026, 11, 1) - dt.timedelta(days=n // 3)
    for i in range(n):
        (posts / f"post-{i:05d}.md").write_text(post_text(i, n, rng, start))
    return root


if __name__ == "__main__":
    import sys

    print(generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
