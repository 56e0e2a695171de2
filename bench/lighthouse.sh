#!/usr/bin/env bash
# Lighthouse on each tenant's built site, served on loopback as its host serves it: HTTPS under the
# tenant's own host name (a local self-signed certificate; Chromium maps the name to 127.0.0.1
# with --host-resolver-rules), plain HTTP redirecting to HTTPS, _headers applied, gzip.
#
#   bash bench/lighthouse.sh            # builds, then audits home, blog, a post, a tag per tenant
#
# Needs Debian's chromium (CHROME_PATH, default /usr/bin/chromium) and Node.js; installs
# Lighthouse from bench/package.json into bench/node_modules. Targets: SEO, accessibility and
# best practices 100, performance >= 95; exits 1 when a page misses one.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
HTTPS_PORT="${HTTPS_PORT:-8443}"
HTTP_PORT="${HTTP_PORT:-8080}"
WORK="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

[ -x "$CHROME_PATH" ] || { echo "no Chromium at $CHROME_PATH (apt-get install chromium)" >&2; exit 2; }
[ -x bench/node_modules/.bin/lighthouse ] || npm install --prefix bench --no-audit --no-fund --silent

"$PYTHON" build.py >/dev/null

# Tenant domains and the pages to audit, from the build itself.
"$PYTHON" - > "$WORK/targets" <<'PY'
import re
from pathlib import Path
from floe.tenants import load_tenants

for tenant in load_tenants(Path("site/tenants.toml")).values():
    site = Path("build") / tenant.domain
    urls = re.findall(r"<loc>([^<]+)</loc>", (site / "sitemap.xml").read_text())
    post = next(u for u in urls if re.search(r"/blog/(?!page/|tag/)[^/]+/$", u))
    tag = next(u for u in urls if "/blog/tag/" in u)
    for name, url in (("home", f"{tenant.base_url}/"), ("blog", f"{tenant.base_url}/blog/"),
                      ("post", post), ("tag", tag)):
        print(tenant.key, tenant.domain, name, url)
PY

DOMAINS=$(awk '{print $2}' "$WORK/targets" | sort -u)
SAN=$(printf 'DNS:%s,' $DOMAINS); SAN=${SAN%,}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=floe-bench" \
  -addext "subjectAltName=$SAN" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
SPKI=$(openssl x509 -in "$WORK/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64)

"$PYTHON" bench/serve_sites.py --root build --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
  --https-port "$HTTPS_PORT" --http-port "$HTTP_PORT" > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do grep -q serving "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done

RULES=""
for d in $DOMAINS; do RULES="$RULES,MAP $d:443 127.0.0.1:$HTTPS_PORT,MAP $d:80 127.0.0.1:$HTTP_PORT"; done
RULES=${RULES#,}
FLAGS="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run --host-resolver-rules=\"$RULES\" --ignore-certificate-errors-spki-list=$SPKI"

printf '%-12s %-5s %-70s %5s %5s %5s %5s\n' tenant page url perf a11y bp seo
status=0
while read -r tenant domain page url; do
  out="$WORK/$tenant-$page.json"
  bench/node_modules/.bin/lighthouse "$url" --quiet --output=json --output-path="$out" \
    --only-categories=performance,accessibility,best-practices,seo \
    --chrome-flags="$FLAGS --user-data-dir=$WORK/profile-$tenant-$page" >/dev/null 2>"$WORK/lh.log" \
    || { echo "lighthouse failed on $url:"; tail -5 "$WORK/lh.log"; status=1; continue; }
  read -r perf a11y bp seo failed < <("$PYTHON" - "$out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
scores = {k: round(v["score"] * 100) for k, v in report["categories"].items()}
failed = [a["id"] for a in report["audits"].values()
          if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")]
print(scores["performance"], scores["accessibility"], scores["best-practices"], scores["seo"], ",".join(failed) or "-")
PY
)
  printf '%-12s %-5s %-70s %5s %5s %5s %5s\n' "$tenant" "$page" "$url" "$perf" "$a11y" "$bp" "$seo"
  if [ "$perf" -lt 95 ] || [ "$a11y" -lt 100 ] || [ "$bp" -lt 100 ] || [ "$seo" -lt 100 ]; then
    echo "  below target; audits not passed: $failed"; status=1
  fi
done < "$WORK/targets"
exit $status
