"""Code both sides of Floe share: the tenant registry, the experiments and their assignment,
assets and the page head, the sites' security headers, and how a build or deploy reports
its progress.

Nothing here imports Frozen-Flask, Flask or the database, so the static renderer and the
dynamic service can both depend on it.
"""
