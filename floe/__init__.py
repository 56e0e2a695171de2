"""Code both sides of Floe share: the tenant registry and (later) experiments.

Nothing here imports Frozen-Flask, Flask or the database, so the static renderer and the
dynamic service can both depend on it.
"""
