"""``create_app(tenant, sources)``: the Flask app that renders one tenant's static site."""

from __future__ import annotations

from flask import Flask, render_template
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined

from renderer.content.documents import tag_slug
from renderer.content.sources import Sources
from renderer.views import asset_urls, blog, crawler_files, landing, seo


def create_app(tenant: str, sources: Sources) -> Flask:
    """Build the app for ``tenant``; it sees only that tenant's content."""
    paths = sources.paths
    catalog = sources.catalogs[tenant]
    manifest = sources.manifests[tenant]
    # Static files are served fingerprinted by the assets blueprint, not by Flask's own route.
    app = Flask(__name__, static_folder=None, root_path=str(paths.root))
    app.jinja_loader = ChoiceLoader([FileSystemLoader(d) for d in paths.template_dirs(tenant)])
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(tag_slug, "tag_slug")
    app.extensions["floe.catalog"] = catalog
    app.extensions["floe.assets"] = manifest
    app.extensions["floe.sources"] = sources
    app.extensions["floe.experiments"] = sources.experiments

    for blueprint in (landing.bp, blog.bp, asset_urls.bp, crawler_files.bp):
        app.register_blueprint(blueprint)
    for alias in catalog.aliases:
        app.add_url_rule(crawler_files.alias_rule(alias), "alias", crawler_files.alias_page)

    @app.context_processor
    def site_globals() -> dict:
        return {
            "tenant": catalog.tenant,
            "catalog": catalog,
            "asset": manifest.__getitem__,
            "asset_url": lambda name: manifest[name].url,
        }

    @app.errorhandler(404)
    def not_found(error):
        return render_template("404.html", head=seo.not_found_head(catalog)), 404

    return app
