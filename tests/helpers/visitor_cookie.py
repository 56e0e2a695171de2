"""The visitor id in a ``floe_vid`` cookie: ``<id>.<signature>`` as the service issues it (or
a bare id, from before ids were signed or beyond an address's budget). Variants are computed
from the id alone."""

from __future__ import annotations


def visitor_id_of(cookie_value: str) -> str:
    """The id a ``floe_vid`` cookie value carries (the id itself never holds a dot)."""
    return cookie_value.partition(".")[0]
