"""The baseline for bench/build.py: the same corpus built the way the documentation of
Flask-FlatPages and Frozen-Flask shows, one app per tenant.

Each app has its own ``FlatPages`` (so a post on two tenants is converted twice), renders each
page through Frozen-Flask's test client, and expands snippets with a small renderer function,
as a user of those libraries would write it. Markdown gets the same extensions as Floe's
renderer, so both produce the same kind of page.

    python bench/naive_site.py PROJECT OUT
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import markdown
from flask import Flask, abort, render_template_string
from flask_flatpages import FlatPages
from flask_frozen import Freezer

TENANTS = {"freelancers": "tallystack.example", "agencies": "teams.tallystack.example"}
EXTENSIONS = ["fenced_code", "codehilite", "tables", "footnotes", "attr_list", "sane_lists", "toc"]
SNIPPET = re.compile(r'^\{%\s*snippet\s+"([^"]+)"\s*%\}$', re.M)

LAYOUT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{% block title %}{% endblock %} · {{ site }}</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/site.css') }}"></head>
<body><header><a href="{{ url_for('index') }}">{{ site }}</a></header>
<main>{% block main %}{% endblock %}</main></body></html>"""
LIST = """{% extends "layout" %}{% block title %}Blog{% endblock %}{% block main %}<ul>
{% for page in pages %}<li><a href="{{ url_for('post', path=page.path) }}">{{ page.title }}</a>
<p>{{ page.description }}</p></li>{% endfor %}</ul>
{% if number > 1 %}<a href="{{ url_for('index', number=number - 1) }}">Newer</a>{% endif %}
{% if number < last %}<a href="{{ url_for('index', number=number + 1) }}">Older</a>{% endif %}
{% endblock %}"""
POST = """{% extends "layout" %}{% block title %}{{ page.title }}{% endblock %}{% block main %}
<article><h1>{{ page.title }}</h1><p>{{ page.date }}</p>
{% for tag in page.tags %}<a href="{{ url_for('tag', tag=tag) }}">{{ tag }}</a>{% endfor %}
{{ page.html|safe }}</article>{% endblock %}"""


def create_app(project: Path, tenant: str, out: Path) -> Flask:
    app = Flask(__name__, static_folder=str(project / "site" / "static"))
    snippets = project / "content" / "snippets"

    def renderer(text: str) -> str:
        def include(match: re.Match) -> str:
            return SNIPPET.sub(include, (snippets / f"{match.group(1)}.md").read_text())

        return markdown.markdown(
            SNIPPET.sub(include, text),
            extensions=EXTENSIONS,
            extension_configs={"codehilite": {"css_class": "highlight"}},
        )

    app.config.update(
        FLATPAGES_ROOT=str(project / "content" / "posts"),
        FLATPAGES_EXTENSION=".md",
        FLATPAGES_HTML_RENDERER=renderer,
        FREEZER_DESTINATION=str(out / TENANTS[tenant]),
        FREEZER_REMOVE_EXTRA_FILES=True,
    )
    pages = FlatPages(app)
    freezer = Freezer(app)
    app.jinja_env.globals["site"] = tenant
    from jinja2 import DictLoader

    app.jinja_loader = DictLoader({"layout": LAYOUT, "list": LIST, "post": POST})

    def posts():
        live = [p for p in pages if tenant in p.meta.get("tenants", list(TENANTS))]
        return sorted(live, key=lambda p: p["date"], reverse=True)

    @app.route("/blog/", defaults={"number": 1})
    @app.route("/blog/page/<int:number>/")
    def index(number: int):
        shown = posts()
        last = max(1, math.ceil(len(shown) / 10))
        return render_template_string(
            LIST, pages=shown[(number - 1) * 10 : number * 10], number=number, last=last
        )

    @app.route("/blog/<path:path>/")
    def post(path: str):
        page = pages.get_or_404(path)
        if tenant not in page.meta.get("tenants", list(TENANTS)):
            abort(404)
        return render_template_string(POST, page=page)

    @app.route("/blog/tag/<tag>/")
    def tag(tag: str):
        return render_template_string(
            LIST, pages=[p for p in posts() if tag in p.meta.get("tags", [])], number=1, last=1
        )

    @freezer.register_generator
    def post_urls():
        for page in posts():
            yield "post", {"path": page.path}

    app.extensions["freezer"] = freezer
    return app


def main() -> None:
    project, out = Path(sys.argv[1]), Path(sys.argv[2])
    for tenant in TENANTS:
        create_app(project, tenant, out).extensions["freezer"].freeze()


if __name__ == "__main__":
    main()
