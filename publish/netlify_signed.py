"""Make a built Netlify site's ``/app/*`` proxy a signed proxy rule.

Netlify signs a proxied request (the ``X-Nf-Sign`` header, a JWT signed with HS256 with the
value of an environment variable) only for a rule in ``netlify.toml`` that says
``signed = "VARIABLE"``: ``_redirects`` has no such option. The rule's target is the tenant's
own dynamic origin, and ``netlify.toml`` is shared by every tenant, so the build moves the
tenant's ``/app/*`` rule from the published ``_redirects`` into the checkout's ``netlify.toml``,
which Netlify reads again for redirects after the build command (README, Netlify). Netlify
applies ``_redirects`` before ``netlify.toml``, so the rule stays the last one, as it was.

    python -m publish.netlify_signed build/netlify netlify.toml
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomlkit

from publish import netlify_redirects

#: The Netlify environment variable holding the secret; the service's setting of the same name.
SIGNING_VARIABLE = "FLOE_NETLIFY_SIGNING_SECRET"
APP_RULE = "/app/*"


def sign_app_proxy(publish: Path, config: Path) -> str:
    """Move the ``/app/*`` proxy of ``publish``'s ``_redirects`` into ``config`` as a signed
    rule (replacing one a previous run wrote); return its target. ValueError if there is no
    single such proxy."""
    path = publish / "_redirects"
    text = path.read_text(encoding="utf-8")
    app = [rule for rule in netlify_redirects.parse(text) if rule.source == APP_RULE]
    if len(app) != 1 or not app[0].proxy or app[0].status != 200:
        raise ValueError(f"{path}: no single {APP_RULE} proxy to the dynamic service")
    rule = app[0]
    document = tomlkit.parse(config.read_text(encoding="utf-8"))
    kept = [r for r in document.get("redirects", []) if r.get("from") != APP_RULE]
    table = tomlkit.table()
    table.update({"from": APP_RULE, "to": rule.target, "status": 200, "signed": SIGNING_VARIABLE})
    if rule.force:
        table["force"] = True
    rules = tomlkit.aot()
    for kept_rule in [*kept, table]:
        rules.append(kept_rule)
    document["redirects"] = rules
    lines = text.splitlines(keepends=True)
    del lines[rule.line - 1]
    path.write_text("".join(lines), encoding="utf-8")
    config.write_text(tomlkit.dumps(document), encoding="utf-8")
    return rule.target


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m publish.netlify_signed PUBLISH_DIR NETLIFY_TOML", file=sys.stderr)
        return 2
    try:
        target = sign_app_proxy(Path(argv[0]), Path(argv[1]))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{APP_RULE} proxies to {target}, signed with ${SIGNING_VARIABLE} ({argv[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
