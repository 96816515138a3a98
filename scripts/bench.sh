#!/usr/bin/env bash
# scripts/bench.sh - `make bench`: durable ingest of signed training records,
# against this machine's own limits measured in the same run.
#
#   BENCH_TERMINALS (32)  terminals over TLS, one connection each (termsim --terminals)
#   BENCH_RECORDS (200)   records per terminal per run (under the 240-minute daily cap), RSA-2048 signed before the timed part
#   BENCH_RUNS (3)        runs; medians are reported
#
# Prints records/s, ack latency p50/p99, CPU per record and hoursd's RSS;
# then the limits: one core verifying RSA-2048 (openssl speed) and one
# connection inserting the same rows in batches (COPY of 500 rows per
# transaction); then the ratio; then p99 at half the measured rate.
# Not a test: figures vary with the machine and its neighbours.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NT=${BENCH_TERMINALS:-32}
NR=${BENCH_RECORDS:-200}
RUNS=${BENCH_RUNS:-3}
BATCH=500

WORK=$(mktemp -d /tmp/hoursd-bench.XXXXXX)
chmod 755 "$WORK"
HPID=
cleanup() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	scripts/pg.sh stop "$WORK/pg" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT

phones=()
for i in $(seq 1 "$NT"); do phones+=("$(printf '0139%08d' "$i")"); done
echo "== setting up: $NT terminals, $NR records each, $RUNS runs (PKI, PostgreSQL with fsync on)"
scripts/pki.sh "$WORK/pki" "${phones[@]}" 2>/dev/null
scripts/pg.sh start "$WORK/pg" >/dev/null
CI=$(scripts/pg.sh conninfo "$WORK/pg")
build/hoursctl -d "$CI" migrate --dir sql >/dev/null
for p in "${phones[@]}"; do
	build/hoursctl -d "$CI" terminal add "$p" --cert "$WORK/pki/term-$p.crt" \
		--sign-cert "$WORK/pki/sign-rsa-$p.crt" >/dev/null
done
psql() { command psql -XAtq "$CI" "$@"; }

port=$((20000 + RANDOM % 20000))
cat >"$WORK/hoursd.yaml" <<YAML
listen:
  tls: "127.0.0.1:$port"
tls:
  cert: $WORK/pki/server.crt
  key: $WORK/pki/server.key
  ca: $WORK/pki/ca.crt
database:
  conninfo: "$CI"
  batch_max_rows: $BATCH
log:
  level: info
process:
  allow_root: true
admin:
  listen: ""
rules:
  syllabus: $PWD/conf/syllabus.yaml
YAML

calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
kv() { sed -n "s/^$1=//p" "$2"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_termsim() { # $1 = output file, $2 = extra options
	# shellcheck disable=SC2086
	# TLS and the 2013 header with the auth code, named: termsim's default is now the
	# timing layout on plain TCP, which needs the registration's PKCS#12.
	build/termsim --tls --layout 2013 --port "$port" --ca "$WORK/pki/ca.crt" --phone "${phones[0]}" \
		--terminals "$NT" --cert "$WORK/pki/term-{}.crt" --key "$WORK/pki/term-{}.key" \
		--sign-key "$WORK/pki/sign-rsa-{}.key" --lesson "$NR" --window 64 --course 1213010000 \
		--timeout 120 $2 >"$1" 2>>"$WORK/termsim.log"
}

start_hoursd() {
	build/hoursd -c "$WORK/hoursd.yaml" 2>>"$WORK/hoursd.log" &
	HPID=$!
	for _ in $(seq 100); do grep -q ' ready' "$WORK/hoursd.log" && return; sleep 0.1; done
	echo "hoursd did not start"; cat "$WORK/hoursd.log"; exit 1
}

fresh_tables() {
	psql -c "TRUNCATE training_record, training_record_conflict, session_event, photo, position, minute_claim, progress, progress_day, push_packet, push_attempt"
}

start_hoursd
tck=$(getconf CLK_TCK)
rates=() p50s=() p99s=() cpus=()
for r in $(seq 1 "$RUNS"); do
	fresh_tables
	c0=$(cpu_ticks "$HPID")
	run_termsim "$WORK/run$r.out" "" || { echo "termsim failed"; tail "$WORK/termsim.log"; exit 1; }
	c1=$(cpu_ticks "$HPID")
	ok=$(kv records_ok "$WORK/run$r.out")
	stored=$(psql -c "SELECT count(*) FROM training_record WHERE verdict = 'accepted'")
	[ "$ok" = "$stored" ] || { echo "acked $ok records but $stored are stored"; exit 1; }
	rates+=("$(kv records_per_s "$WORK/run$r.out")")
	p50s+=("$(kv ack_latency_p50_ms "$WORK/run$r.out")")
	p99s+=("$(kv ack_latency_p99_ms "$WORK/run$r.out")")
	cpus+=("$(calc "($c1 - $c0) * 1000000 / $tck / $ok")")
	printf 'run %d: %s records/s, ack p50 %s ms, p99 %s ms\n' "$r" "${rates[-1]}" "${p50s[-1]}" "${p99s[-1]}"
done
rate=$(printf '%s\n' "${rates[@]}" | median)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$HPID/status")

# Half the measured rate, spread over the terminals: the latency target.
half=$(calc "$rate / 2 / $NT")
half_p99s=() half_rates=()
for r in $(seq 1 "$RUNS"); do
	fresh_tables
	run_termsim "$WORK/half$r.out" "--rate $half"
	half_p99s+=("$(kv ack_latency_p99_ms "$WORK/half$r.out")")
	half_rates+=("$(kv records_per_s "$WORK/half$r.out")")
	printf 'half-rate run %d: %s records/s, ack p99 %s ms\n' "$r" "${half_rates[-1]}" "${half_p99s[-1]}"
done
half_p99=$(printf '%s\n' "${half_p99s[@]}" | median)
half_rate=$(printf '%s\n' "${half_rates[@]}" | median)
kill -TERM "$HPID"; wait "$HPID" || true; HPID=

echo "== the machine's own limits"
verify=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $NF}')
rows=$(psql -c "SELECT count(*) FROM training_record")
psql -c "CREATE TABLE copy_target (LIKE training_record INCLUDING ALL)"
psql -c "\\copy (SELECT * FROM training_record ORDER BY terminal_id, record_no) TO '$WORK/rows.tsv'"
split -l "$BATCH" "$WORK/rows.tsv" "$WORK/chunk."
for f in "$WORK"/chunk.*; do echo "\\copy copy_target FROM '$f'"; done >"$WORK/copy.sql"
t0=$(date +%s.%N)
psql -f "$WORK/copy.sql"
t1=$(date +%s.%N)
insert=$(calc "$rows / ($t1 - $t0)")
limit=$(printf '%s\n%s\n' "$verify" "$insert" | sort -g | head -n 1)

printf '\n== figures (median of %d runs, %d terminals, %d RSA-2048 signed records each)\n' "$RUNS" "$NT" "$NR"
printf 'ingest:               %.0f records/s durable (acked after commit, fsync on)\n' "$rate"
printf 'ack latency:          p50 %s ms, p99 %s ms (full rate)\n' "$(printf '%s\n' "${p50s[@]}" | median)" "$(printf '%s\n' "${p99s[@]}" | median)"
printf 'ack latency at half:  p99 %s ms at %.0f records/s (median; target <= 25 ms)\n' "$half_p99" "$half_rate"
printf 'hoursd CPU:           %.1f us per record; RSS high-water %s kB\n' "$(printf '%s\n' "${cpus[@]}" | median)" "$rss"
printf 'limit, verify:        %.0f RSA-2048 verifications/s on one core (openssl speed)\n' "$verify"
printf 'limit, insert:        %.0f rows/s, one connection, COPY of %d rows per transaction\n' "$insert" "$BATCH"
printf 'ratio:                %.2f of the smaller limit (target >= 0.60)\n' "$(calc "$rate / $limit")"
