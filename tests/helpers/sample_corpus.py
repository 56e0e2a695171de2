"""The repository's sample content as the renderer loads it (drafts too), on the tests' day."""

from __future__ import annotations

from floe.tenants import load_tenants
from renderer.content.corpus import load_corpus
from tests.conftest import REPO, TODAY


def corpus():
    tenants = load_tenants(REPO / "site" / "tenants.toml")
    return load_corpus(REPO / "content", tenants, drafts=True, today=TODAY)
