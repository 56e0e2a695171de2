#!/usr/bin/env bash
# Build every tenant's site and publish it to its S3 bucket behind CloudFront: the daily job
# of ops/cron/floe (posts dated today go live) and the publish after a release.
#
#   bash ops/s3-publish.sh
#
# Per tenant, in this order so no visitor meets a missing page: new and changed files are
# uploaded; the CloudFront stack FLOE_STACK_PREFIX<tenant> (when FLOE_STACK_PREFIX is set, e.g.
# floe-) takes the edge rules of the new _redirects (split tests started or ended, renamed
# posts); then the files the build no longer has are deleted and the changed paths
# invalidated. Buckets and distributions come from site/tenants.toml ([tenants.NAME.deploy]);
# AWS credentials from the environment or the instance's role. FLOE_PYTHON names the
# interpreter with Floe installed (default: the checkout's .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${FLOE_PYTHON:-.venv/bin/python}"

tenants="$("$python" -m publish.domains)"
"$python" build.py build

while read -r tenant domain; do
  "$python" build.py deploy s3 --tenant "$tenant" --no-delete
  if [ -n "${FLOE_STACK_PREFIX:-}" ]; then
    edge="$("$python" -m publish.cloudfront "build/$domain")"
    mapfile -t overrides <<< "$edge"
    aws cloudformation deploy --stack-name "$FLOE_STACK_PREFIX$tenant" \
      --template-file ops/cloudfront.yaml --parameter-overrides "${overrides[@]}" \
      --no-fail-on-empty-changeset
  fi
  "$python" build.py deploy s3 --tenant "$tenant" --delete
done <<< "$tenants"
