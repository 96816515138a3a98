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

scripts/pki.sh "$WORK/pki" 013800000001 013800000002 013800000003 013800000004 013800000005 >/dev/null
PG_FAST=1 scripts/pg.sh start "$WORK/pg" >/dev/null
CONNINFO=$(scripts/pg.sh conninfo "$WORK/pg")
build/hoursctl -d "$CONNINFO" migrate --dir sql >/dev/null
for t in 013800000001 013800000004; do
	build/hoursctl -d "$CONNINFO" terminal add "$t" --cert "$WORK/pki/term-$t.crt" >/dev/null
done
# 2 signs with RSA, 5 with SM2; 1 with its TLS key (ECDSA P-256); 3 is not registered
build/hoursctl -d "$CONNINFO" terminal add 013800000002 --cert "$WORK/pki/term-013800000002.crt" \
	--sign-cert "$WORK/pki/sign-rsa-013800000002.crt" >/dev/null
build/hoursctl -d "$CONNINFO" terminal add 013800000005 --cert "$WORK/pki/term-013800000005.crt" \
	--sign-cert "$WORK/pki/sign-sm2-013800000005.crt" >/dev/null
build/hoursctl -d "$CONNINFO" terminal disable 013800000004 >/dev/null
# School S001 has the sample site; terminal 1 belongs to it, the others to no school.
build/hoursctl -d "$CONNINFO" school add S001 "Sample driving school" >/dev/null
build/hoursctl -d "$CONNINFO" site import S001 "sample field" conf/site-sample.geojson >/dev/null
build/hoursctl -d "$CONNINFO" terminal assign 013800000001 S001 >/dev/null

export HOURSD_TEST_PKI=$WORK/pki HOURSD_TEST_PG_DIR=$WORK/pg HOURSD_TEST_WORK=$WORK
export HOURSD_TEST_CONNINFO=${CONNINFO% dbname=*}
for bin in build/san build; do
	echo "== integration: daemon and termsim from $bin"
	HOURSD_BIN_DIR=$bin build/tests/check_integration || failed=1
done

# Acceptance: a JT/T 808 client that is not ours (tests/jt808_client.py, Python)
# against build/hoursd and a fresh copy of the template, 2013 then 2019 headers,
# then a lesson (--lesson) that drives a student to a met part.
pyclient() {
	local conf=$WORK/pyclient-hoursd.yaml log=$WORK/pyclient-hoursd.log db=hoursd_py
	local port pid rc=0
	psql -Xq -d "$HOURSD_TEST_CONNINFO dbname=postgres" -c "CREATE DATABASE $db TEMPLATE hoursd" || return 1
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$conf" <<YAML
listen:
  tls: "127.0.0.1:$port"
tls:
  cert: $WORK/pki/server.crt
  key: $WORK/pki/server.key
  ca: $WORK/pki/ca.crt
database:
  conninfo: "$HOURSD_TEST_CONNINFO dbname=$db"
log:
  level: debug
process:
  allow_root: true
admin:
  listen: ""
rules:
  syllabus: $PWD/conf/syllabus.yaml
YAML
	build/hoursd -c "$conf" >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q ' ready' "$log" && break; sleep 0.1; done
	pyclient_run 013800000001 || rc=1
	pyclient_run 013800000002 --v2019 || rc=1
	# a C1 student from zero to a met part 2 (timing-training extension, signed
	# with terminal 1's TLS key; terminal 1 belongs to S001 and its sample site)
	pyclient_run 013800000001 --lesson || rc=1
	kill -TERM "$pid"
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null && echo "hoursd did not stop within 20 s of SIGTERM"
	wait "$pid" || { echo "hoursd exited with $? after SIGTERM; see $log"; rc=1; }
	return $rc
}
pyclient_run() { # TERMINAL [client options]: uses port and db of pyclient
	echo "== acceptance: tests/jt808_client.py, terminal $1 ${2:-}"
	python3 tests/jt808_client.py --port "$port" --ca "$WORK/pki/ca.crt" --phone "$1" \
		--cert "$WORK/pki/term-$1.crt" --key "$WORK/pki/term-$1.key" "${@:2}" \
		--start-time 1764000000 --conninfo "$HOURSD_TEST_CONNINFO dbname=$db"
}
pyclient || failed=1

if [ "$failed" != 0 ]; then
	echo "make check: FAILED"
	exit 1
fi
echo "make check: all suites passed"
