#!/usr/bin/env bash
# scripts/bench.sh - `make bench`: durable ingest of signed training records and the
# judge behind it, against this machine's own limits measured in the same run.
#
#   BENCH_TERMINALS (32)  terminals of each framing, one connection each (termsim
#                         --terminals): TLS with the 2013 header, and plain TCP with
#                         the national timing header (registration, signed authentication)
#   BENCH_RECORDS (200)   records per terminal per run (under the 240-minute daily cap),
#                         RSA-2048 signed before the timed part
#   BENCH_RUNS (3)        runs; medians are reported
#   BENCH_PG_PROFILE      a file: the PostgreSQL backends' hottest symbols by
#                         backend (perf), during the profiling run
#   BENCH_JUDGE_BUSY_ROWS hoursd's judge.busy_batch_rows (unset: its default)
#
# Prints: records/s acked after commit and the records' ack latency p50/p99 (full
# rate, then half of it); the judge's lag behind ingest (p50/p99, from each record's queued_at
# and judged_at) at both rates and its sustained rate on a backlog; CPU per record of
# hoursd, of the PostgreSQL processes and of the load generator; PostgreSQL's by
# stage (ingest, judge, chain: hoursd's connections by application_name) and
# hoursd's by part (TLS and framing, verification, the rest: perf, when it may
# run); then the limits: one core verifying RSA-2048 (openssl speed), one
# connection COPYing the same rows (500 a transaction), and what the cores allow at
# hoursd's and PostgreSQL's CPU per record; last, on its own line,
#   efficiency: F (floor X us / actual Y us)
# the floor (one verification and one COPY-priced row, CPU, measured in the same
# run) over hoursd's and PostgreSQL's CPU per record (target >= 0.50).
# Not a test: figures vary with the machine and its neighbours.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh
NT=${BENCH_TERMINALS:-32}
NR=${BENCH_RECORDS:-200}
RUNS=${BENCH_RUNS:-3}
BATCH=500

HPID=
work_dir hoursd-bench bench
end_at_exit HPID
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT

tls_phones=() timing_phones=()
for i in $(seq 1 "$NT"); do
	tls_phones+=("$(printf '0139%08d' "$i")")
	timing_phones+=("$(printf '0138%08d' "$i")")
done
echo "== setting up: $NT TLS and $NT timing terminals, $NR records each, $RUNS runs (PKI, PostgreSQL with fsync on)"
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
CONF_DATABASE_MORE="  batch_max_rows: $BATCH" write_config "$WORK/hoursd.yaml" "$CI" "$port" \
	"$((port + 1))"
if [ -n "${BENCH_JUDGE_BUSY_ROWS:-}" ]; then
	printf 'judge:\n  busy_batch_rows: %d\n' "$BENCH_JUDGE_BUSY_ROWS" >>"$WORK/hoursd.yaml"
fi

calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
kv() { sed -n "s/^$1=//p" "$2"; }
ticks_of() { awk '{s += $14 + $15} END {print s + 0}' "$@" 2>/dev/null || echo 0; }
cpu_ticks() { ticks_of "/proc/$1/stat"; }
# Every process of the cluster: the postmaster and its children (backends, writers).
pg_ticks() {
	local pm
	pm=$(head -n 1 "$WORK/pg/data/postmaster.pid")
	ticks_of "/proc/$pm/stat" $(for c in $(pgrep -P "$pm"); do echo "/proc/$c/stat"; done)
}
tck=$(getconf CLK_TCK)
# The cluster's CPU ticks by stage, one "stage ticks" line each: hoursd names its
# connections (application_name "hoursd ingest", "hoursd ingest2", "hoursd judge",
# "hoursd chain"); every other process of the cluster (the WAL writer, the
# checkpointer, this script's psql) is "other".
stage_ticks() {
	local pm
	pm=$(head -n 1 "$WORK/pg/data/postmaster.pid")
	psql -F ' ' -c "SELECT pid, split_part(application_name, ' ', 2) FROM pg_stat_activity
		WHERE application_name LIKE 'hoursd %'" >"$WORK/stages"
	for c in "$pm" $(pgrep -P "$pm"); do
		st=$(awk -v p="$c" '$1 == p {sub(/[0-9]+$/, "", $2); print $2}' "$WORK/stages")
		echo "${st:-other} $(ticks_of "/proc/$c/stat")"
	done | awk '{t[$1] += $2} END {for (s in t) print s, t[s]}'
}
# The ticks of stage $2 between two stage_ticks outputs $1 (before) and $3 (after).
stage_delta() {
	local a b
	a=$(awk -v s="$2" '$1 == s {print $2}' <<<"$1")
	b=$(awk -v s="$2" '$1 == s {print $2}' <<<"$3")
	echo $(( ${b:-0} - ${a:-0} ))
}

# One run: the TLS terminals and the timing terminals at once.  $1 = output prefix,
# $2 = extra termsim options.  Writes $1.tls, $1.timing and $1.cpu (the load
# generator's user+system seconds).
run_load() {
	local TIMEFORMAT='%U %S'
	{
		time {
			# shellcheck disable=SC2086
			build/termsim --tls --layout 2013 --port "$port" --ca "$WORK/pki/ca.crt" \
				--phone "${tls_phones[0]}" --terminals "$NT" --cert "$WORK/pki/term-{}.crt" \
				--key "$WORK/pki/term-{}.key" --sign-key "$WORK/pki/sign-rsa-{}.key" \
				--lesson "$NR" --window 64 --course 1213010000 --timeout 120 $2 \
				>"$1.tls" 2>>"$WORK/termsim.log" &
			local a=$!
			# shellcheck disable=SC2086
			build/termsim --plain --port "$((port + 1))" --phone "${timing_phones[0]}" \
				--terminals "$NT" --lesson "$NR" --window 64 --course 1213010000 \
				--student S100000000000001 --coach C100000000000001 --timeout 120 $2 \
				>"$1.timing" 2>>"$WORK/termsim.log" &
			local b=$!
			wait "$a" && wait "$b"
		}
	} 2>"$1.cpu"
}

fresh_tables() {
	psql -c "TRUNCATE training_record, training_record_conflict, session_event, photo, position,
		minute_claim, progress, progress_day, push_packet, push_attempt, push_review, judge_queue,
		teaching_log_sent, push_body_logged,
		record_judgement"
	# Each run authenticates the timing terminals again, perhaps within the same second:
	# a fresh start for the replay check of their signed timestamps.
	psql -c "UPDATE terminal SET last_auth_ts = NULL"
}

# The judge has taken every queued record (up to 60 s).
judged() {
	for _ in $(seq 1200); do
		[ "$(psql -c 'SELECT count(*) FROM judge_queue')" = 0 ] && return
		sleep 0.05
	done
	echo "the judge did not catch up in 60 s"; exit 1
}

# The audit log holds every row stored (up to 60 s): its work is the run's,
# not the next one's.
chained() {
	for _ in $(seq 1200); do
		[ "$(psql -c 'SELECT count(*) FROM audit_log_leaves((SELECT hi FROM audit_log_head),
			9223372036854775807, false)')" = 0 ] && return
		sleep 0.05
	done
	echo "the audit chain did not catch up in 60 s"; exit 1
}

# Lag of the judge behind ingest, ms: percentile $1 over every record judged.
lag_ms() {
	psql -c "SELECT round((1000 * extract(epoch FROM percentile_cont($1) WITHIN GROUP
		(ORDER BY judged_at - queued_at)))::numeric, 1) FROM record_judgement"
}

# $1 = output prefix of run_load: records/s (both framings), p50 and p99 (the worse of
# the two), records acked.
figures() {
	local ok=$(( $(kv records_ok "$1.tls") + $(kv records_ok "$1.timing") ))
	local rate p50 p99
	rate=$(calc "$(kv records_per_s "$1.tls") + $(kv records_per_s "$1.timing")")
	p50=$(printf '%s\n%s\n' "$(kv record_latency_p50_ms "$1.tls")" "$(kv record_latency_p50_ms "$1.timing")" | sort -g | tail -n 1)
	p99=$(printf '%s\n%s\n' "$(kv record_latency_p99_ms "$1.tls")" "$(kv record_latency_p99_ms "$1.timing")" | sort -g | tail -n 1)
	echo "$rate $p50 $p99 $ok"
}

start_hoursd build/hoursd "$WORK/hoursd.yaml" "$WORK/hoursd.log" || exit 1
rates=() p50s=() p99s=() cpus=() pgcpus=() loadcpus=() lag50s=() lag99s=()
pg_ingests=() pg_judges=() pg_chains=() pg_others=()
for r in $(seq 1 "$RUNS"); do
	fresh_tables
	c0=$(cpu_ticks "$HPID") g0=$(pg_ticks) s0=$(stage_ticks)
	run_load "$WORK/run$r" "" || { echo "termsim failed"; tail "$WORK/termsim.log"; exit 1; }
	c1=$(cpu_ticks "$HPID") g1=$(pg_ticks)
	read -r rate p50 p99 ok < <(figures "$WORK/run$r")
	stored=$(psql -c "SELECT count(*) FROM training_record WHERE verdict = 'accepted'")
	[ "$ok" = "$stored" ] || { echo "acked $ok records but $stored are stored"; exit 1; }
	judged
	chained
	g2=$(pg_ticks) s2=$(stage_ticks)
	us() { calc "$(stage_delta "$s0" "$1" "$s2") * 1000000 / $tck / $ok"; }
	pg_ingests+=("$(us ingest)") pg_judges+=("$(us judge)") pg_chains+=("$(us chain)")
	pg_others+=("$(us other)")
	rates+=("$rate") p50s+=("$p50") p99s+=("$p99")
	cpus+=("$(calc "($c1 - $c0) * 1000000 / $tck / $ok")")
	# PostgreSQL's share: ingest during the run, the judge and the audit chain until
	# they caught up.
	pgcpus+=("$(calc "($g2 - $g0) * 1000000 / $tck / $ok")")
	loadcpus+=("$(awk -v ok="$ok" '{print ($1 + $2) * 1000000 / ok}' "$WORK/run$r.cpu")")
	lag50s+=("$(lag_ms 0.5)") lag99s+=("$(lag_ms 0.99)")
	printf 'run %d: %s records/s, ack p50 %s ms, p99 %s ms; judge lag p99 %s ms\n' "$r" \
		"$rate" "$p50" "$p99" "${lag99s[-1]}"
done
# hoursd's CPU split, from one more full-rate run under perf (call graphs by DWARF):
# each sample goes to verification when its stack holds the signature check, else
# to TLS and framing when it holds OpenSSL's record layer, libevent's TLS filter,
# the socket reads and writes or the frame parsers, else to the rest (handlers,
# ingest's batches, libpq, the judge, the chain, the loop).  Without a usable perf
# (not installed, or perf_event_paranoid), no split.
hsplit=
if command -v perf >/dev/null && perf record -q -o /dev/null -- true 2>/dev/null; then
	fresh_tables
	perf record -q -F 997 --call-graph dwarf,16384 -o "$WORK/perf.data" -p "$HPID" \
		2>>"$WORK/perf.log" &
	perf_pid=$!
	# BENCH_PG_PROFILE=FILE: the PostgreSQL processes' hottest symbols meanwhile,
	# by stage, into FILE (perf report's flat list).
	if [ -n "${BENCH_PG_PROFILE:-}" ]; then
		stage_ticks >/dev/null
		pg_pids=$(awk '{print $1}' "$WORK/stages" | paste -sd,)
		perf record -q -F 997 -o "$WORK/perf-pg.data" -s -p "$pg_pids" 2>>"$WORK/perf.log" &
		perf_pg=$!
	fi
	sleep 0.5
	run_load "$WORK/prof" "" || { echo "termsim failed"; exit 1; }
	judged
	chained
	kill -INT "$perf_pid"; wait "$perf_pid" || true
	if [ -n "${BENCH_PG_PROFILE:-}" ]; then
		kill -INT "$perf_pg"; wait "$perf_pg" || true
		{
			cat "$WORK/stages"
			perf report -i "$WORK/perf-pg.data" --sort pid,sym --stdio 2>/dev/null
		} >"$BENCH_PG_PROFILE" || true
	fi
	hsplit=$(perf script -i "$WORK/perf.data" -F ip,sym,dso 2>>"$WORK/perf.log" | awk '
		function done_sample() {
			if (!n) return
			if (stack ~ /sig_verify|EVP_DigestVerify/) v++
			else if (stack ~ /libssl\.so|libevent_openssl|evbuffer_read|evbuffer_write|jt808_scan|jt808_parse|jt808_unescape|jt808_encode|jtx_|_sys_recvfrom|_sys_sendto|sock_read_iter|sock_write_iter|ksys_read|ksys_write|readv|writev/) t++
			else r++
			stack = ""; n = 0
		}
		NF == 0 { done_sample(); next }
		{ stack = stack " " $0; n++ }
		END { done_sample(); s = v + t + r; if (s) printf "%.3f %.3f %.3f %d\n", t / s, v / s, r / s, s }')
fi

rate=$(printf '%s\n' "${rates[@]}" | median)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$HPID/status")

# Half the measured rate, spread over the terminals: the latency target.
half=$(calc "$rate / 2 / (2 * $NT)")
half_p99s=() half_rates=() half_lag99s=() half_cpus=() half_pg_ingests=() half_pg_judges=()
half_pg_chains=()
for r in $(seq 1 "$RUNS"); do
	fresh_tables
	c0=$(cpu_ticks "$HPID") s0=$(stage_ticks)
	run_load "$WORK/half$r" "--rate $half"
	c1=$(cpu_ticks "$HPID")
	read -r hrate _ hp99 hok < <(figures "$WORK/half$r")
	judged
	chained
	s2=$(stage_ticks) ok=$hok
	half_cpus+=("$(calc "($c1 - $c0) * 1000000 / $tck / $ok")")
	half_pg_ingests+=("$(us ingest)") half_pg_judges+=("$(us judge)")
	half_pg_chains+=("$(us chain)")
	half_p99s+=("$hp99") half_rates+=("$hrate") half_lag99s+=("$(lag_ms 0.99)")
	printf 'half-rate run %d: %s records/s, ack p99 %s ms; judge lag p99 %s ms\n' "$r" \
		"$hrate" "$hp99" "${half_lag99s[-1]}"
done
half_p99=$(printf '%s\n' "${half_p99s[@]}" | median)
half_rate=$(printf '%s\n' "${half_rates[@]}" | median)
kill -TERM "$HPID"; wait "$HPID" || true; HPID=

echo "== the judge alone: the last run's records queued again, judged by a fresh hoursd"
psql -c "TRUNCATE minute_claim, progress, progress_day, push_packet, push_attempt, push_review, teaching_log_sent, push_body_logged, record_judgement, judge_queue"
queued=$(psql -c "INSERT INTO judge_queue (terminal_id, record_no)
	SELECT terminal_id, record_no FROM training_record WHERE verdict = 'accepted'
	ORDER BY record_time, terminal_id; SELECT count(*) FROM judge_queue")
t0=$(date +%s.%N)
start_hoursd build/hoursd "$WORK/hoursd.yaml" "$WORK/hoursd.log" || exit 1
# The moment the queue is empty, within 2 ms: one session looking again and again
# (each statement of a DO block sees what has committed since the last).
t1=$(psql -c "DO \$\$ BEGIN
		WHILE EXISTS (SELECT 1 FROM judge_queue) LOOP
			IF clock_timestamp() > statement_timestamp() + interval '60 s' THEN RETURN; END IF;
			PERFORM pg_sleep(0.002);
		END LOOP;
		RAISE NOTICE 'empty %', extract(epoch FROM clock_timestamp()); END \$\$" 2>&1 |
	sed -n 's/.*empty //p')
[ -n "$t1" ] || { echo "the judge did not catch up in 60 s"; exit 1; }
kill -TERM "$HPID"; wait "$HPID" || true; HPID=
# The judge's own rate: from its first batch's start (the judgement's judged_at, the
# transaction's start) to the queue's end; with hoursd's start (process, TLS context,
# connections, the syllabus) and the 0.1 s steps start_hoursd looks for it in, as
# this line measured before.
first=$(psql -c "SELECT extract(epoch FROM min(judged_at)) FROM record_judgement")
judge_rate=$(calc "$queued / ($t1 - $first)")
judge_rate_start=$(calc "$queued / ($t1 - $t0)")

echo "== the machine's own limits"
verify=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $NF}')
rows=$(psql -c "SELECT count(*) FROM training_record")
psql -c "\\copy (SELECT * FROM training_record ORDER BY terminal_id, record_no) TO '$WORK/rows.tsv'"
split -l "$BATCH" "$WORK/rows.tsv" "$WORK/chunk."
# The rows three times over (three tables), in one session whose backend's CPU is
# read before and after: the floor's row is its CPU, like the verification's
# (openssl speed divides by CPU time); the rate is the wall clock's.
{
	ticks="SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint
		FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') s;"
	printf '\\o %s\n%s\n\\o\n' "$WORK/copy.t0" "$ticks"
	for k in 1 2 3; do
		echo "CREATE TABLE copy_target$k (LIKE training_record INCLUDING ALL);"
		for f in "$WORK"/chunk.*; do echo "\\copy copy_target$k FROM '$f'"; done
	done
	printf '\\o %s\n%s\n\\o\n' "$WORK/copy.t1" "$ticks"
} >"$WORK/copy.sql"
t0=$(date +%s.%N)
psql -f "$WORK/copy.sql"
t1=$(date +%s.%N)
insert=$(calc "3 * $rows / ($t1 - $t0)")
copy_us=$(calc "($(cat "$WORK/copy.t1") - $(cat "$WORK/copy.t0")) * 1000000 / $tck / (3 * $rows)")
limit=$(printf '%s\n%s\n' "$verify" "$insert" | sort -g | head -n 1)
cpu=$(printf '%s\n' "${cpus[@]}" | median)
pgcpu=$(printf '%s\n' "${pgcpus[@]}" | median)
loadcpu=$(printf '%s\n' "${loadcpus[@]}" | median)
cores=$(nproc)
bound=$(calc "$cores * 1000000 / ($cpu + $pgcpu)")

printf '\n== figures (median of %d runs; %d TLS + %d timing terminals, %d RSA-2048 signed records each)\n' "$RUNS" "$NT" "$NT" "$NR"
printf 'ingest:               %.0f records/s durable (acked after commit, fsync on)\n' "$rate"
printf 'record ack latency:   p50 %s ms, p99 %s ms (full rate; the worse framing)\n' "$(printf '%s\n' "${p50s[@]}" | median)" "$(printf '%s\n' "${p99s[@]}" | median)"
printf 'ack latency at half:  p99 %s ms at %.0f records/s (median; target <= 25 ms)\n' "$half_p99" "$half_rate"
printf 'judge lag:            p50 %s ms, p99 %s ms at full rate; p99 %s ms at half rate (ingest commit -> judged)\n' \
	"$(printf '%s\n' "${lag50s[@]}" | median)" "$(printf '%s\n' "${lag99s[@]}" | median)" "$(printf '%s\n' "${half_lag99s[@]}" | median)"
printf 'judge alone:          %.0f records/s (%d queued records, judge.batch_max_rows 5000; first batch to the queue empty); %.0f with hoursd'"'"'s start\n' \
	"$judge_rate" "$queued" "$judge_rate_start"
printf 'CPU per record:       hoursd %.1f us, PostgreSQL %.1f us (ingest, judge, chain); the load generator %.1f us (its signing included)\n' "$cpu" "$pgcpu" "$loadcpu"
printf 'PostgreSQL by stage:  ingest %.1f us, judge %.1f us, chain %.1f us, other %.1f us (WAL writer, checkpointer, this script) a record\n' \
	"$(printf '%s\n' "${pg_ingests[@]}" | median)" "$(printf '%s\n' "${pg_judges[@]}" | median)" \
	"$(printf '%s\n' "${pg_chains[@]}" | median)" "$(printf '%s\n' "${pg_others[@]}" | median)"
printf 'CPU at half rate:     hoursd %.1f us; PostgreSQL ingest %.1f us, judge %.1f us, chain %.1f us a record (smaller batches)\n' \
	"$(printf '%s\n' "${half_cpus[@]}" | median)" "$(printf '%s\n' "${half_pg_ingests[@]}" | median)" \
	"$(printf '%s\n' "${half_pg_judges[@]}" | median)" "$(printf '%s\n' "${half_pg_chains[@]}" | median)"
if [ -n "$hsplit" ]; then
	read -r ft fv fr ns <<<"$hsplit"
	printf 'hoursd by part:       TLS and framing %.1f us, verification %.1f us, the rest %.1f us a record (perf, %d samples of one more run)\n' \
		"$(calc "$ft * $cpu")" "$(calc "$fv * $cpu")" "$(calc "$fr * $cpu")" "$ns"
else
	echo 'hoursd by part:       not measured (perf missing or not permitted)'
fi
printf 'hoursd RSS:           high-water %s kB\n' "$rss"
printf 'limit, verify:        %.0f RSA-2048 verifications/s on one core (openssl speed)\n' "$verify"
printf 'limit, insert:        %.0f rows/s, one connection, COPY of %d rows per transaction; %.1f us of its backend'"'"'s CPU a row\n' "$insert" "$BATCH" "$copy_us"
printf 'ratio:                %.2f of the smaller limit (target >= 0.60)\n' "$(calc "$rate / $limit")"
printf 'limit, CPU:           %.0f records/s: %d cores / (hoursd + PostgreSQL CPU per record); the load generator shares them\n' "$bound" "$cores"
printf 'ratio to CPU limit:   %.2f\n' "$(calc "$rate / $bound")"
# The floor: what one durable signed record must cost on this machine, measured in
# this run: one RSA-2048 verification and one COPY-priced row, both CPU time.
floor=$(calc "1000000 / $verify + $copy_us")
printf 'efficiency: %.2f (floor %.1f us / actual %.1f us)\n' "$(calc "$floor / ($cpu + $pgcpu)")" \
	"$floor" "$(calc "$cpu + $pgcpu")"
