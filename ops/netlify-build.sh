#!/usr/bin/env bash
# Netlify's build command (netlify.toml) for every tenant. Each tenant is its own Netlify site
# on this repository, and the site's environment variable FLOE_TENANT names it. This installs
# Floe, builds that tenant's site into build/<domain>/ and copies it to build/netlify/, the one
# folder netlify.toml publishes (its _redirects and _headers included).
#
#   FLOE_TENANT=freelancers bash ops/netlify-build.sh [more options of `build.py build`]
#
# FLOE_PYTHON names an interpreter that already has Floe's dependencies (a developer's
# .venv/bin/python, to try this locally); without it, python3 (on Netlify, the one
# PYTHON_VERSION selects) gets them installed first.
set -euo pipefail
cd "$(dirname "$0")/.."

publish=build/netlify
python="${FLOE_PYTHON:-python3}"

# Which site: checked before anything is installed, so a wrong setting fails in seconds.
domain="$("$python" -m publish.domains "${FLOE_TENANT:-}")"

if [ -z "${FLOE_PYTHON:-}" ]; then
  "$python" -m pip install --quiet --disable-pip-version-check .
fi
"$python" build.py build --tenant "$FLOE_TENANT" "$@"

# build/$domain is a link into the build folder that is current (build/current): copy the
# folder it leads to, not the link.
site="$(cd "build/$domain" && pwd -P)"
rm -rf "$publish"
cp -R "$site" "$publish"
# The /app/* proxy as Netlify's signed proxy rule, so the service can tell Netlify's requests
# from forged ones (README, Security): only netlify.toml can say `signed`.
if [ -n "${FLOE_NETLIFY_SIGNING_SECRET:-}" ]; then
  "$python" -m publish.netlify_signed "$publish" netlify.toml
else
  echo "warning: FLOE_NETLIFY_SIGNING_SECRET is not set: /app/* is proxied unsigned, and a" \
    "service in production will not believe its forwarded headers (README, Security)" >&2
fi
echo "Publishing build/$domain (tenant $FLOE_TENANT) from $publish"
