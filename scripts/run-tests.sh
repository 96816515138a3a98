#!/usr/bin/env bash
# scripts/run-tests.sh - `make check` after the build: every unit suite,
# plain and under ASan+UBSan, then the integration suite against a
# throwaway PostgreSQL cluster, once with the sanitized daemon and once
# with the optimized one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0

for t in build/tests/check_* build/san/tests/check_*; do
	case $t in *check_integration) continue ;; esac
	echo "== unit: $t"
	"$t" || failed=1
done

WORK=$(mktemp -d /tmp/hoursd-test.XXXXXX)
chmod 755 "$WORK" # the cluster runs as user hoursd when we are root
cleanup() {
	scripts/pg.sh stop "$WORK/pg" >/dev/null 2>&1 || true
	if [ "$failed" = 0 ]; then rm -rf "$WORK"; else echo "test files kept in $WORK"; fi
}
trap cleanup EXIT

scripts/pki.sh "$WORK/pki" 013800000001 013800000002 013800000003 013800000004 >/dev/null
PG_FAST=1 scripts/pg.sh start "$WORK/pg" >/dev/null
CONNINFO=$(scripts/pg.sh conninfo "$WORK/pg")
build/hoursctl -d "$CONNINFO" migrate --dir sql >/dev/null
for t in 013800000001 013800000002 013800000004; do
	build/hoursctl -d "$CONNINFO" terminal add "$t" --cert "$WORK/pki/term-$t.crt" >/dev/null
done
build/hoursctl -d "$CONNINFO" terminal disable 013800000004 >/dev/null

export HOURSD_TEST_PKI=$WORK/pki HOURSD_TEST_PG_DIR=$WORK/pg HOURSD_TEST_WORK=$WORK
export HOURSD_TEST_CONNINFO=${CONNINFO% dbname=*}
for bin in build/san build; do
	echo "== integration: daemon and termsim from $bin"
	HOURSD_BIN_DIR=$bin build/tests/check_integration || failed=1
done

if [ "$failed" != 0 ]; then
	echo "make check: FAILED"
	exit 1
fi
echo "make check: all suites passed"
