"""The tenants a deploy script may name, read with the standard library only (it runs before
the dependencies are installed).

    python -m publish.domains           # one line per tenant: NAME DOMAIN
    python -m publish.domains NAME      # the domain of NAME, whose site is build/DOMAIN/

An unknown or empty NAME, or a broken site/tenants.toml, exits 2 with the reason on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from floe.errors import SourceError
from floe.tenants import TenantRegistry, load_tenants

TENANTS_FILE = "site/tenants.toml"


def registry(root: Path) -> TenantRegistry:
    return load_tenants(root / TENANTS_FILE, display_path=TENANTS_FILE)


def domain_of(tenants: TenantRegistry, name: str) -> str:
    """The domain of the tenant ``name``; ValueError says what to set instead."""
    known = ", ".join(tenants)
    if not name:
        raise ValueError(
            "FLOE_TENANT is not set: set it to the tenant this site serves, one of: " + known
        )
    if name not in tenants:
        raise ValueError(f"FLOE_TENANT={name!r} is not a tenant of {TENANTS_FILE} (known: {known})")
    return tenants[name].domain


def main(argv: list[str]) -> int:
    try:
        tenants = registry(Path.cwd())
        if not argv:
            for key, tenant in tenants.items():
                print(key, tenant.domain)
        else:
            print(domain_of(tenants, argv[0]))
    except SourceError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
