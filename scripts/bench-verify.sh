#!/usr/bin/env bash
# scripts/bench-verify.sh - `make bench-verify`: how fast `hoursctl audit verify`
# checks stored records from their signed frames, against this machine's own
# limit measured in the same run: one core verifying RSA-2048 (openssl speed).
#
#   BENCH_TERMINALS (32)  terminals of each framing (TLS with the 2013 header,
#                         plain TCP with the national timing header), RSA-2048 signing
#   BENCH_RECORDS (200)   records per terminal per day
#   BENCH_DAYS (4)        days of lessons ingested (a day each run of termsim)
#   BENCH_RUNS (3)        verify runs; medians are reported
#   HOURSCTL_BEFORE       another hoursctl to time on the same database (the one
#                         before a change), optional
#
# The records are ingested by hoursd from termsim, so that what verify reads is
# what hoursd stores (frames, signatures, the chain); then verify runs on them,
# with every core and with one (HOURSCTL_THREADS=1).  Prints the frames stage's
# records/s (the "frames:" line of verify: decode, compare, digest, signature),
# the whole verify's records/s (the chain, the rows and progress included) and
# its CPU a record (hoursctl's and PostgreSQL's: on a shared machine the figure
# the neighbours do not change), the ratio of the frames stage to one core's
# RSA-2048 verifications, and the rate the cores allow at that CPU a record.
# Not a test: figures vary with the machine and its neighbours.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh
NT=${BENCH_TERMINALS:-32}
NR=${BENCH_RECORDS:-200}
DAYS=${BENCH_DAYS:-4}
RUNS=${BENCH_RUNS:-3}

HPID=
work_dir hoursd-bench-verify bench-verify
end_at_exit HPID

tls_phones=() timing_phones=()
for i in $(seq 1 "$NT"); do
	tls_phones+=("$(printf '0139%08d' "$i")")
	timing_phones+=("$(printf '0138%08d' "$i")")
done
echo "== setting up: $NT TLS and $NT timing terminals, $NR records each a day, $DAYS days"
scripts/pki.sh "$WORK/pki" "${tls_phones[@]}" "${timing_phones[@]}" 2>/dev/null
scripts/pg.sh start "$WORK/pg" >/dev/null
CI=$(scripts/pg.sh conninfo "$WORK/pg")
build/hoursctl -d "$CI" migrate --dir sql >/dev/null
for p in "${tls_phones[@]}"; do
	build/hoursctl -d "$CI" terminal add "$p" --cert "$WORK/pki/term-$p.crt" \
		--sign-cert "$WORK/pki/sign-rsa-$p.crt" >/dev/null
done
for i in $(seq 1 "$NT"); do
	p=${timing_phones[$((i - 1))]}
	build/hoursctl -d "$CI" terminal add "$p" --p12 "$WORK/pki/term-$p.p12" --p12-pass 123456 \
		--imei "860$p" --terminal-no "$(printf '31000000%08d' "$i")" >/dev/null
done
port=$((20000 + RANDOM % 20000))
CONF_DATABASE_MORE="  batch_max_rows: 500" write_config "$WORK/hoursd.yaml" "$CI" "$port" \
	"$((port + 1))"
cat >>"$WORK/hoursd.yaml" <<YAML
audit:
  checkpoint_key: $WORK/pki/checkpoint.key
  checkpoint_interval_s: 1
YAML

calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A day of lessons, $1 days ago (08:00 UTC+8), on every terminal of both framings.
load_day() {
	local start
	start=$(( ($(date +%s) / 86400 - $1) * 86400 ))
	build/termsim --tls --layout 2013 --port "$port" --ca "$WORK/pki/ca.crt" \
		--phone "${tls_phones[0]}" --terminals "$NT" --cert "$WORK/pki/term-{}.crt" \
		--key "$WORK/pki/term-{}.key" --sign-key "$WORK/pki/sign-rsa-{}.key" \
		--lesson "$NR" --record-start "$start" --window 64 --course 1213010000 \
		--timeout 300 >/dev/null 2>>"$WORK/termsim.log" &
	local a=$!
	build/termsim --plain --port "$((port + 1))" --phone "${timing_phones[0]}" \
		--terminals "$NT" --lesson "$NR" --record-start "$start" --window 64 \
		--course 1213010000 --student S100000000000001 --coach C100000000000001 \
		--timeout 300 >/dev/null 2>>"$WORK/termsim.log" &
	local b=$!
	wait "$a" && wait "$b"
	# the timing terminals authenticate again on the next day's run
	psql -c "UPDATE terminal SET last_auth_ts = NULL"
}

start_hoursd build/hoursd "$WORK/hoursd.yaml" "$WORK/hoursd.log" || exit 1
for d in $(seq 1 "$DAYS"); do
	load_day "$d" || { echo "termsim failed"; tail "$WORK/termsim.log"; exit 1; }
	echo "day $d: $(psql -c 'SELECT count(*) FROM training_record') records stored"
done
for _ in $(seq 1200); do
	[ "$(psql -c 'SELECT count(*) FROM audit_pending')" = 0 ] && break
	sleep 0.1
done
sleep 2 # a checkpoint over the head
kill -TERM "$HPID"; wait "$HPID" || true; HPID=
records=$(psql -c "SELECT count(*) FROM training_record")
events=$(psql -c "SELECT count(*) FROM session_event")
psql -c "VACUUM ANALYZE"

# PostgreSQL's CPU ticks while a command runs: its processes sampled every 0.1 s
# (verify's backend ends with its connection, and the postmaster does not count
# what its children used), each process's last ticks less its first; a process
# born meanwhile from 0.  Up to 0.1 s of a backend's end is not seen.
pg_sample() { # FILE: samples "round pid ticks" until killed
	set +e
	local pm round=0
	pm=$(head -n 1 "$WORK/pg/data/postmaster.pid")
	while :; do
		for c in $(pgrep -P "$pm"); do
			awk -v r="$round" -v p="$c" '{print r, p, $14 + $15}' "/proc/$c/stat" 2>/dev/null
		done
		round=$((round + 1))
		sleep 0.1
	done >"$1"
}
pg_used() { # FILE: the ticks the sampled processes used
	awk '$1 == 0 {first[$2] = $3} {last[$2] = $3} END {for (p in last) s += last[p] - first[p]; print s + 0}' "$1"
}
tck=$(getconf CLK_TCK)

# One verify run of the command given (hoursctl, perhaps after env): its wall
# seconds, the frames stage's records/s ("-" when it has no such line), its own
# CPU seconds and PostgreSQL's.  The machine is shared: the CPU is the figure
# that does not depend on the neighbours.
verify_run() {
	local out=$WORK/verify.out t0 t1 rate cpu
	local TIMEFORMAT='%U %S'
	pg_sample "$WORK/pg.samples" &
	local sampler=$!
	sleep 0.2
	t0=$(date +%s.%N)
	{ time "$@" -d "$CI" audit verify --key "$WORK/pki/checkpoint.pub" >"$out" \
		2>"$WORK/verify.err"; } 2>"$WORK/verify.cpu" ||
		{ kill "$sampler" 2>/dev/null; tail -n 5 "$out" "$WORK/verify.err" >&2; return 1; }
	t1=$(date +%s.%N)
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	rate=$(sed -n 's/^frames: .*(\([0-9]*\) records\/s.*/\1/p' "$out")
	cpu=$(awk '{print $1 + $2}' "$WORK/verify.cpu")
	echo "$(calc "$t1 - $t0") ${rate:--} $cpu $(calc "$(pg_used "$WORK/pg.samples") / $tck")"
}

# $1 label, then the command: RUNS runs, the medians printed.
timed() {
	local label=$1 walls=() rates=() cpus=() pgs=() wall rate cpu pg
	shift
	for _ in $(seq 1 "$RUNS"); do
		read -r wall rate cpu pg < <(verify_run "$@") || { echo "$label: verify failed"; exit 1; }
		walls+=("$wall") rates+=("$rate") cpus+=("$cpu") pgs+=("$pg")
	done
	wall=$(printf '%s\n' "${walls[@]}" | median)
	rate=$(printf '%s\n' "${rates[@]}" | median)
	cpu=$(printf '%s\n' "${cpus[@]}" | median)
	pg=$(printf '%s\n' "${pgs[@]}" | median)
	printf '%s\n  whole verify %.2f s (%.0f records/s);' "$label:" "$wall" "$(calc "$records / $wall")"
	[ "$rate" = "-" ] || printf ' frames stage %.0f records/s;' "$rate"
	printf ' CPU a record: hoursctl %.1f us, PostgreSQL %.1f us\n' \
		"$(calc "$cpu * 1000000 / $records")" "$(calc "$pg * 1000000 / $records")"
	LAST_RATE=$rate LAST_CPU=$(calc "($cpu + $pg) * 1000000 / $records")
}

echo "== audit verify on $records records and $events session events ($RUNS runs each, medians;" \
	"load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores)"
LAST_RATE= LAST_CPU=
timed "every core ($(nproc) threads)" build/hoursctl
all=$LAST_RATE all_cpu=$LAST_CPU
timed "one thread" env HOURSCTL_THREADS=1 build/hoursctl
one=$LAST_RATE
if [ -n "${HOURSCTL_BEFORE:-}" ]; then
	timed "before ($HOURSCTL_BEFORE)" "$HOURSCTL_BEFORE"
fi

echo "== the machine's own limit"
verify=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $NF}')
printf 'limit, verify:       %.0f RSA-2048 verifications/s on one core (openssl speed)\n' "$verify"
printf 'frames stage:        %.0f records/s on every core, %.0f on one (target >= 25000)\n' "$all" "$one"
printf 'ratio:               %.2f of one core'"'"'s RSA-2048 verify limit (every core), %.2f (one)\n' \
	"$(calc "$all / $verify")" "$(calc "$one / $verify")"
printf 'limit, CPU:          %.0f records/s: %d cores / the whole verify'"'"'s CPU a record (%.1f us,' \
	"$(calc "$(nproc) * 1000000 / $all_cpu")" "$(nproc)" "$all_cpu"
printf ' hoursctl and PostgreSQL)\n'
