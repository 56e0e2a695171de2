"""The site's views: the per-tenant Flask app (:func:`renderer.views.app.create_app`), its
blueprints (blog, landing pages, crawler files, assets), head/SEO metadata and split-test
variant pages."""
