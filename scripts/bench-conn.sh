#!/usr/bin/env bash
# scripts/bench-conn.sh - `make bench-conn`: idle terminals by the thousand, on the
# plain-TCP listener and on the TLS listener.
#
#   BENCH_CONN_LEVELS ("1000 10000 max")  terminals per run; "max" is as many as the
#                     open-file limit allows (raised here to the hard limit), at most
#                     BENCH_CONN_MAX (100000)
#   BENCH_CONN_LISTENERS ("plain tls")
#   HOURSD (build/hoursd)  the daemon measured; BENCH_OLD=1 for one that does not know
#                     the connection limits of issue 13 (their keys are left out)
#
# Each run starts a fresh hoursd, opens the terminals with build/idleterms (each
# authenticates with the 2013 header and an auth code, then idles; source addresses
# 127.0.0.1..K past the ephemeral ports of one), and prints: the time to connect and
# authenticate them all, hoursd's RSS per connection (RSS with them minus RSS before,
# over their number), and the p99 of a lesson's record answers on one more terminal
# (TLS, signed records, one at a time) while they idle.  Targets (issue 13): 4 KiB per
# plain-TCP terminal, 16 KiB per TLS terminal, 25 ms p99.
# Not a test: figures vary with the machine and its neighbours.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh
LEVELS=${BENCH_CONN_LEVELS:-"1000 10000 max"}
LISTENERS=${BENCH_CONN_LISTENERS:-"plain tls"}
CAP=${BENCH_CONN_MAX:-100000}
HOURSD=${HOURSD:-build/hoursd}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
limit=$(ulimit -n)
# hoursd keeps connection.fd_reserve (64) and has some of its own; idleterms needs as many
room=$((limit - 64 - 100))
max=$((CAP < room ? CAP : room))

HPID= IPID=
work_dir hoursd-bench-conn bench-conn
WORK_KEEP=${BENCH_KEEP:-}
end_at_exit IPID
end_at_exit HPID

IDLE=013900000000 PROBE=013900000001 FIRST=13800000001
echo "== setting up: open-file limit $limit (hard $(ulimit -Hn)): at most $max terminals a run"
scripts/pki.sh "$WORK/pki" "$IDLE" "$PROBE" >/dev/null 2>&1
scripts/pg.sh start "$WORK/pg" >/dev/null
CI=$(scripts/pg.sh conninfo "$WORK/pg")
build/hoursctl -d "$CI" migrate --dir sql >/dev/null
build/hoursctl -d "$CI" terminal add "$IDLE" --cert "$WORK/pki/term-$IDLE.crt" >/dev/null
build/hoursctl -d "$CI" terminal add "$PROBE" --cert "$WORK/pki/term-$PROBE.crt" \
	--sign-cert "$WORK/pki/sign-rsa-$PROBE.crt" >/dev/null
CODE=$(psql -c "SELECT auth_code FROM terminal WHERE phone = '${IDLE#0}'")
# The plain-TCP terminals: copies of the idle one under the numbers FIRST, FIRST + 1...
psql -c "INSERT INTO terminal (phone, cert_pem, cert_sha256, cert_not_after, auth_code)
	SELECT ($FIRST - 1 + g)::text, cert_pem, cert_sha256, cert_not_after, auth_code
	  FROM terminal, generate_series(1, $max) g WHERE phone = '${IDLE#0}'"

port=$((20000 + RANDOM % 20000))
limits=
if [ -z "${BENCH_OLD:-}" ]; then
	limits="  max_connections: 0
  max_per_address: 0
  max_per_terminal: 0
  handshake_timeout_s: 600
  auth_timeout_s: 600"
fi
CONF_LOG_LEVEL=warn write_config "$WORK/hoursd.yaml" "$CI" "$port" "$((port + 1))"
printf 'connection:\n  idle_timeout_s: 3600\n%s\n' "$limits" >>"$WORK/hoursd.yaml"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
kv() { sed -n "s/^\(.* \)\{0,1\}$1=\([^ ]*\).*/\2/p" "$2"; }

stop_hoursd() {
	kill "$HPID" 2>/dev/null || true
	wait "$HPID" 2>/dev/null || true
	HPID=
}

# One run: $1 = plain or tls, $2 = terminals.  Prints a line of the table.
run() {
	local kind=$1 n=$2 args
	if [ "$kind" = plain ]; then
		args=(--port "$((port + 1))" --phone "$FIRST")
	else
		args=(--port "$port" --phone "$IDLE" --same-phone --tls --ca "$WORK/pki/ca.crt"
			--cert "$WORK/pki/term-$IDLE.crt" --key "$WORK/pki/term-$IDLE.key")
	fi
	psql -c "TRUNCATE training_record, training_record_conflict, session_event, position,
		judge_queue, record_judgement" >/dev/null
	# log.level warn: ready when the plain listener answers
	start_hoursd "$HOURSD" "$WORK/hoursd.yaml" "$WORK/hoursd.log" "$((port + 1))" || exit 1
	sleep 2 # the database connections, the sites, the syllabus
	local rss0 rss1 out="$WORK/idle.out"
	rss0=$(rss_kib "$HPID")
	build/idleterms "${args[@]}" --count "$n" --auth-code "$CODE" \
		--sources $((n / 20000 + 1)) --window 512 >"$out" 2>>"$WORK/idleterms.log" &
	IPID=$!
	for _ in $(seq 6000); do
		grep -q '^authenticated=' "$out" && break
		kill -0 "$IPID" 2>/dev/null || break
		sleep 0.1
	done
	local ok failed ms
	ok=$(kv authenticated "$out") failed=$(kv failed "$out") ms=$(kv elapsed_ms "$out")
	sleep 2
	rss1=$(rss_kib "$HPID")
	build/termsim --tls --layout 2013 --port "$port" --ca "$WORK/pki/ca.crt" \
		--cert "$WORK/pki/term-$PROBE.crt" --key "$WORK/pki/term-$PROBE.key" \
		--sign-key "$WORK/pki/sign-rsa-$PROBE.key" --phone "$PROBE" --lesson 100 --window 1 \
		--course 1213010000 --timeout 60 >"$WORK/probe.out" 2>>"$WORK/termsim.log" || true
	kill "$IPID" 2>/dev/null || true
	wait "$IPID" 2>/dev/null || true
	IPID=
	stop_hoursd
	awk -v k="$kind" -v n="$n" -v ok="${ok:-0}" -v f="${failed:-?}" -v ms="${ms:-0}" \
		-v r0="$rss0" -v r1="$rss1" -v p99="$(kv record_latency_p99_ms "$WORK/probe.out")" \
		'BEGIN { per = ok > 0 ? (r1 - r0) * 1024 / ok : 0; if (p99 == "") p99 = "-"
			printf "%-6s %8d %8d %6s %9.1f %10.0f %10.0f %12.0f %10s\n", k, n, ok, f, ms / 1000, r0, r1, per, p99 }'
}

printf '%-6s %8s %8s %6s %9s %10s %10s %12s %10s\n' listen asked authed failed "setup_s" \
	"rss0_KiB" "rss1_KiB" "B_per_conn" "lesson_p99"
for kind in $LISTENERS; do
	for level in $LEVELS; do
		[ "$level" = max ] && level=$max
		[ "$level" -gt "$max" ] && continue
		run "$kind" "$level"
	done
done
echo "targets: plain <= 4096 B, TLS <= 16384 B per connection; lesson p99 <= 25 ms"
