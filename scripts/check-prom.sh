#!/usr/bin/env bash
# scripts/check-prom.sh - the Prometheus alerting rules (deploy/prometheus/):
# `promtool check rules` on hoursd-rules.yml, `promtool test rules` on its
# unit tests, and one rule for each row of the table "What to alert on, and
# why" of docs/operations.md (so that the two cannot drift apart in number);
# and every query of the Grafana dashboard (deploy/grafana/hoursd.json)
# parsed by promtool, as recording rules of a scratch file.
# promtool is Debian's prometheus package (scripts/deps.sh).  Run by make check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v promtool >/dev/null || {
	echo "check-prom: promtool not found (apt-get install prometheus; scripts/deps.sh)"
	exit 1
}
cd deploy/prometheus
promtool check rules hoursd-rules.yml
promtool test rules hoursd-rules.test.yml
rules=$(grep -c '^      - alert: ' hoursd-rules.yml)
rows=$(sed -n '/^### What to alert on, and why/,/^Thresholds/p' ../../docs/operations.md |
	grep -v -e '^| alert |' -e '^|---' | grep -c '^| ' || true)
if [[ $rules != "$rows" ]]; then
	echo "check-prom: hoursd-rules.yml has $rules alerts, docs/operations.md's table $rows rows"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - ../grafana/hoursd.json >"$tmp/dashboard-rules.yml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
for p in d["panels"]:
    for t in p.get("targets", []):
        expr = t["expr"].replace("$instance", ".*")
        print("      - record: dashboard:panel%d:%s" % (p["id"], t["refId"]))
        print("        expr: %s" % json.dumps(expr))
PY
promtool check rules "$tmp/dashboard-rules.yml" >/dev/null || {
	promtool check rules "$tmp/dashboard-rules.yml"
	echo "check-prom: a query of deploy/grafana/hoursd.json does not parse"
	exit 1
}
echo "check-prom: $rules alerts, as many as the table of docs/operations.md; their tests pass; the dashboard's queries parse"
