"""Code both sides of Floe share: the tenant registry, the experiments and their assignment,
assets and the page head, and the sites' security headers.

Nothing here imports Frozen-Flask, Flask or the database, so the static renderer and the
dynamic service can both depend on it.
"""
