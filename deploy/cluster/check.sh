#!/usr/bin/env bash
# deploy/cluster/check.sh - make cluster-check: the reference deployment
# (deploy/cluster/cluster.sh: etcd, PostgreSQL on two nodes under Patroni
# with synchronous replication, HAProxy, three hoursd, policesim) under a
# stream of lessons from several terminals through HAProxy, while
#   1. one hoursd instance is SIGKILLed: its terminals reconnect through
#      HAProxy to another instance and go on with their lessons;
#   2. the PostgreSQL primary's postmaster is SIGKILLed: Patroni promotes
#      the standby; hoursd reconnects (two instances through HAProxy, one
#      by libpq's multi-host failover) and writes what was in flight again;
#   3. the hoursd whose pusher has a delivery in flight is SIGKILLed while
#      policesim answers slowly: another instance's pusher takes the packet
#      when the lease ends.
# After each: every record termsim saw answered 0 is in the primary once
# and accepted, no record under a number twice, every met part's packet is
# delivered and in policesim's store exactly once; the time to recover is
# printed.  At the end: every record judged once (hoursctl recompute agrees
# with the judged records), the standby (the auditors' port) holds what the
# primary holds, and hoursd logged the terminals' addresses (the PROXY
# protocol), never the balancer's.
#
# Nothing is skipped: a part that cannot start fails the check with its
# reason.  The deployment is stopped at the end, whatever happened; its
# directory is kept when the check failed (the path is printed).
# Needs: deploy/cluster/deps.sh, then make.  CLUSTER_KEEP=1 keeps the directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
HERE=$REPO/deploy/cluster
PG_BIN=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
W=$(mktemp -d /tmp/hoursd-cluster.XXXXXX)
chmod 755 "$W"
D=$W/c
T_START=$SECONDS
ok=0
LPIDS=()

cleanup() {
	local p
	for p in "${LPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	"$HERE/cluster.sh" stop "$D" >/dev/null 2>&1 || true
	if ((ok)) && [[ -z ${CLUSTER_KEEP:-} ]]; then
		rm -rf "$W"
	else
		echo "cluster-check: files kept in $W"
	fi
}
trap cleanup EXIT
trap "exit 1" INT TERM

fail() {
	echo "cluster-check: FAIL: $*" >&2
	exit 1
}
say() { echo "cluster-check: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Nothing of the deployment's may be missing: say what and how to get it.
command -v curl >/dev/null || fail "curl is missing (deploy/cluster/deps.sh)"
"$HERE/deps.sh" --check || fail "packages missing: run deploy/cluster/deps.sh (as root)"
# CLUSTER_BIN=build/san: the sanitized programs (make build/san/hoursd ...).
BIN=${CLUSTER_BIN:-build}
export CLUSTER_BIN=$REPO/$BIN
for p in hoursd hoursctl termsim policesim; do
	[[ -x $BIN/$p ]] || fail "$BIN/$p is missing: run make first"
done

say "starting the deployment in $D"
CLUSTER_FSYNC=off "$HERE/cluster.sh" start "$D" 3 >"$W/start.out" 2>"$W/start.err" || {
	cat "$W/start.err" >&2
	fail "the deployment did not start (above)"
}
# shellcheck disable=SC1091
source "$D/env"
say "deployment up in $((SECONDS - T_START)) s: etcd, pg1 primary + pg2 synchronous standby" \
	"under Patroni, HAProxy, policesim, 3 hoursd"
CI="host=127.0.0.1 port=$PG_PRIMARY_PORT dbname=hoursd user=postgres connect_timeout=3"
RCI="host=127.0.0.1 port=$PG_REPLICA_PORT dbname=hoursd user=postgres connect_timeout=3"
q() { "$PG_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$CI" -c "$1"; }
rq() { "$PG_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$RCI" -c "$1"; }
PSIM_CURL=(curl -sS -m 5 --cacert "$D/pki/ca.crt" --cert "$D/pki/term-013900000001.crt"
	--key "$D/pki/term-013900000001.key")
admin_of() { eval echo "\$H$1_ADMIN"; }
metric() { # INSTANCE NAME: the value, empty when the instance does not answer
	curl -fsS -m 1 "http://127.0.0.1:$(admin_of "$1")/metrics" 2>/dev/null |
		awk -v n="$2" '$1 == n { print $2 }'
}

RECORDS=60
start_wave() { # WAVE RECORDS RATE START
	python3 "$HERE/lessons.py" "$D" "$1" "$2" "$3" "$4" 240 >"$W/wave$1.out" 2>&1 &
	LPIDS+=($!)
}
acked_count() { # FILE: records answered 0
	awk '$2 == 0' "$1" 2>/dev/null | sort -u | wc -l
}
# wait_terminals WAVE T0 WHAT: every lesson of WAVE not finished has a record
# answered after T0 (the counts were saved in $W/before); prints the seconds.
save_counts() {
	local f
	: >"$W/before"
	for f in "$D"/lessons/*-w"$1".records; do echo "$f $(acked_count "$f")" >>"$W/before"; done
}
wait_terminals() {
	local wave=$1 t0=$2 f n was all
	for _ in $(seq 1 600); do
		all=1
		while read -r f was; do
			n=$(acked_count "$f")
			((n > was || n >= RECORDS_OF_WAVE)) || all=0
		done <"$W/before"
		((all)) && {
			since "$t0"
			return 0
		}
		sleep 0.1
	done
	fail "$3: some terminal had no record answered 60 s later (see $D/lessons)"
}

# verify WAVE LABEL: the records of WAVE acknowledged so far are in the
# primary once, and judged; the packets made by then are delivered, each in
# policesim's store once.  The lessons may still run: what comes later is
# the next verify's.  Waits for the judge and the pusher (60 s at most).
# The acknowledged record numbers go to a table of the test's own,
# cluster_check_acked (hoursd never reads it).
verify() {
	local wave=$1 label=$2
	cat "$D"/lessons/*-w"$wave".records | awk '$2 == 0 { print $1 }' | sort -u >"$W/acked"
	local acked missing dups conflicts unjudged=1 undelivered=1 t
	acked=$(wc -l <"$W/acked")
	missing=$("$PG_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$CI" <<-SQL
		SET client_min_messages = warning;
		CREATE TABLE IF NOT EXISTS cluster_check_acked (record_no text PRIMARY KEY);
		TRUNCATE cluster_check_acked;
		\\copy cluster_check_acked FROM '$W/acked'
		SELECT count(*) FROM cluster_check_acked a WHERE NOT EXISTS (SELECT 1
		 FROM training_record r WHERE r.record_no = a.record_no AND r.verdict = 'accepted');
	SQL
	)
	dups=$(q "SELECT count(*) FROM (SELECT record_no FROM training_record GROUP BY record_no
		HAVING count(*) > 1) d")
	conflicts=$(q "SELECT count(*) FROM training_record_conflict")
	((missing == 0)) || fail "$label: $missing of $acked acknowledged records are not in the primary"
	((dups == 0 && conflicts == 0)) || fail "$label: $dups record numbers stored twice, $conflicts conflicts"
	for _ in $(seq 1 600); do
		unjudged=$(q "SELECT count(*) FROM cluster_check_acked a WHERE NOT EXISTS (SELECT 1
			FROM record_judgement j WHERE j.record_no = a.record_no)")
		((unjudged == 0)) && break
		sleep 0.1
	done
	((unjudged == 0)) || fail "$label: $unjudged acknowledged records still unjudged after 60 s"
	t=$(q "SELECT now()")
	for _ in $(seq 1 600); do
		undelivered=$(q "SELECT count(*) FROM push_packet WHERE created_at <= '$t' AND state <> 'done'")
		((undelivered == 0)) && break
		sleep 0.1
	done
	((undelivered == 0)) ||
		fail "$label: packets not delivered after 60 s: $(q "SELECT string_agg(id || ' ' || state, ', ') FROM push_packet WHERE created_at <= '$t' AND state <> 'done'")"
	local packets=0 id n
	for id in $(q "SELECT id FROM push_packet WHERE created_at <= '$t' ORDER BY id"); do
		n=$(grep -c "$id" "$D/policesim/store.jsonl" || true)
		((n == 1)) || fail "$label: packet $id is in policesim's store $n times"
		packets=$((packets + 1))
	done
	say "$label: all $acked acknowledged records of wave $wave in the primary once and judged;" \
		"$packets met parts delivered to policesim once each"
}

# ---- wave 1: two kills under a stream of lessons ----
RECORDS_OF_WAVE=$RECORDS
W1_START=$(($(date +%s) - 26 * 3600))
say "wave 1: $((2 * TERMINALS)) terminals (TLS through HAProxy with PROXY v2, timing on plain" \
	"TCP with PROXY v1), a lesson of $RECORDS records each, 1 a second"
start_wave 1 "$RECORDS" 1 "$W1_START"
WAVE1_PID=${LPIDS[-1]}
sleep 8
save_counts 1

# 1. an hoursd instance dies
victim=$(for i in 1 2 3; do echo "$(metric "$i" 'hoursd_connections{state="authenticated"}') $i"; done |
	sort -rn | head -n 1 | cut -d' ' -f2)
say "1. SIGKILL hoursd$victim ($(metric "$victim" 'hoursd_connections{state="authenticated"}') terminals on it)"
t0=$(now)
kill -KILL "$(<"$D/pids/hoursd$victim")"
R1=$(wait_terminals 1 "$t0" "hoursd killed")
say "1. every terminal answered again $R1 s after the kill (reconnected through HAProxy)"
verify 1 "1. hoursd killed"
"$HERE/cluster.sh" start-hoursd "$D" "$victim" >/dev/null 2>"$W/restart.err" ||
	fail "hoursd$victim did not start again: $(cat "$W/restart.err")"
say "1. hoursd$victim started again (an instance added: it takes new terminals at once)"

# 2. the primary dies
sleep 2
save_counts 1
primary=$("$HERE/cluster.sh" primary "$D")
[[ $primary == pg1 || $primary == pg2 ]] || fail "no primary before the failover"
standby=pg2 rest=$REST2_PORT
[[ $primary == pg2 ]] && standby=pg1 rest=$REST1_PORT
pm=$(head -n 1 "$D/$primary/data/postmaster.pid")
say "2. SIGKILL the primary's postmaster ($primary, pid $pm)"
t0=$(now)
kill -KILL "$pm"
for _ in $(seq 1 600); do
	curl -fsS -m 1 -o /dev/null "http://127.0.0.1:$rest/primary" 2>/dev/null && break
	sleep 0.1
done
curl -fsS -m 1 -o /dev/null "http://127.0.0.1:$rest/primary" ||
	fail "2. Patroni did not promote $standby within 60 s (see $D/$standby/log)"
R2P=$(since "$t0")
for _ in $(seq 1 300); do
	[[ $(q "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]] && break
	sleep 0.1
done
[[ $(q "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]] || fail "2. HAProxy's primary port did not reach $standby"
R2H=$(since "$t0")
R2=$(wait_terminals 1 "$t0" "primary killed")
say "2. $standby promoted after $R2P s, writable through HAProxy after $R2H s," \
	"every terminal answered again after $R2 s"
verify 1 "2. primary killed"
# The old primary comes back as the standby (Patroni, pg_rewind).
for _ in $(seq 1 600); do
	curl -fsS -m 1 "http://127.0.0.1:$rest/cluster" 2>/dev/null | grep -q '"sync_standby"' && break
	sleep 0.1
done
curl -fsS -m 1 "http://127.0.0.1:$rest/cluster" | grep -q '"sync_standby"' ||
	fail "2. $primary did not come back as the synchronous standby"
R2R=$(since "$t0")
say "2. $primary back as the synchronous standby $R2R s after the kill"

wait "$WAVE1_PID" || {
	cat "$W/wave1.out" >&2
	fail "wave 1: a lesson did not end well (above)"
}
LPIDS=()
verify 1 "wave 1 done"
expected=$((2 * TERMINALS))
[[ $(q "SELECT count(*) FROM push_packet") == "$expected" ]] ||
	fail "wave 1: $(q "SELECT count(*) FROM push_packet") packets, $expected students met part 3"

# 3. a pusher dies with a delivery in flight
RECORDS_OF_WAVE=25
"${PSIM_CURL[@]}" -X POST --data "slow:2500" "https://localhost:$PSIM_PORT/_faults" >/dev/null ||
	fail "3. policesim refused its fault"
say "3. policesim answers 2.5 s late; wave 2: a lesson of 25 records on each terminal (met at 20)"
start_wave 2 25 4 $(($(date +%s) - 2 * 3600))
WAVE2_PID=${LPIDS[-1]}
victim=
for _ in $(seq 1 600); do
	for i in 1 2 3; do
		[[ $(metric "$i" hoursd_push_in_flight) =~ ^[1-9] ]] && victim=$i && break 2
	done
	sleep 0.05
done
[[ -n $victim ]] || fail "3. no pusher had a delivery in flight within 30 s"
say "3. SIGKILL hoursd$victim: its pusher has $(metric "$victim" hoursd_push_in_flight 2>/dev/null || echo some) delivery in flight"
t0=$(now)
kill -KILL "$(<"$D/pids/hoursd$victim")"
wait "$WAVE2_PID" || {
	cat "$W/wave2.out" >&2
	fail "wave 2: a lesson did not end well (above)"
}
LPIDS=()
for _ in $(seq 1 600); do
	[[ $(q "SELECT count(*) FROM push_packet WHERE state <> 'done'") == 0 &&
		$(q "SELECT count(*) FROM push_packet") == "$((2 * expected))" ]] && break
	sleep 0.1
done
R3=$(since "$t0")
verify 2 "3. pusher killed"
[[ $(q "SELECT count(*) FROM push_packet") == "$((2 * expected))" ]] ||
	fail "3. $(q "SELECT count(*) FROM push_packet") packets, $((2 * expected)) students met part 3"
say "3. every packet delivered once $R3 s after the kill (the lease is 6 s, answers 2.5 s late);" \
	"policesim: $("${PSIM_CURL[@]}" "https://localhost:$PSIM_PORT/_stats" | tr -d '\n' | cut -c1-200)"
"${PSIM_CURL[@]}" -X POST --data "slow:0" "https://localhost:$PSIM_PORT/_faults" >/dev/null || true

# ---- the whole ----
accepted=$(q "SELECT count(*) FROM training_record WHERE verdict = 'accepted'")
judged=$(q "SELECT count(*) FROM record_judgement")
((accepted == judged)) || fail "$accepted records accepted, $judged judged"
"$BIN/hoursctl" -d "$CI" recompute >"$W/recompute.out" 2>&1 ||
	fail "hoursctl recompute disagrees with the judged records: $(tail -n 5 "$W/recompute.out")"
for _ in $(seq 1 100); do
	[[ $(rq "SELECT count(*) FROM training_record" 2>/dev/null) == $(q "SELECT count(*) FROM training_record") ]] && break
	sleep 0.1
done
[[ $(rq "SELECT pg_is_in_recovery()") == t ]] || fail "the auditors' port is not a standby"
[[ $(rq "SELECT count(*) FROM training_record") == $(q "SELECT count(*) FROM training_record") ]] ||
	fail "the standby does not hold what the primary holds"
grep -hq "conn [0-9]* 127\.0\.0\.1:" "$D"/hoursd*/hoursd.log || fail "no terminal logged by its address"
! grep -hq "conn [0-9-]* 127\.0\.0\.3:" "$D"/hoursd*/hoursd.log ||
	fail "hoursd logged HAProxy's address (127.0.0.3) for a terminal: the PROXY header was not used"
say "all: $accepted records accepted and judged once, recompute agrees, the standby has them all;" \
	"terminals logged by their own address (PROXY protocol)"

per=""
for i in 1 2 3; do
	per+=" hoursd$i $(metric "$i" 'hoursd_judge_records_total{decision="counted"}' || true)"
done
say "records each instance's judge counted since its last start:$per"

# Straight to an instance, past HAProxy: a connection without a PROXY header
# is closed with the reason, one with a header is the address it claims.
live=
for i in 1 2 3; do
	curl -fsS -m 1 -o /dev/null "http://127.0.0.1:$(admin_of "$i")/readyz" 2>/dev/null && live=$i && break
done
[[ -n $live ]] || fail "no hoursd instance is ready at the end"
python3 - "$((BASE + 51 + 10 * (live - 1)))" <<-'PY' || fail "an instance kept a connection without a PROXY header"
	import socket, sys
	port = int(sys.argv[1])
	s = socket.create_connection(("127.0.0.1", port), timeout=5)
	s.sendall(b"GET / HTTP/1.0\r\n\r\n")
	try:
	    sys.exit(0 if s.recv(100) == b"" else 1)  # closed, nothing said
	except ConnectionResetError:  # closed with our bytes unread
	    sys.exit(0)
	PY
python3 - "$((BASE + 51 + 10 * (live - 1)))" <<-'PY'
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
	s.sendall(b"PROXY TCP4 198.51.100.7 127.0.0.1 40000 8808\r\n")
	s.close()
	PY
for _ in $(seq 1 50); do
	grep -q "198\.51\.100\.7:40000: closed" "$D/hoursd$live/hoursd.log" && break
	sleep 0.1
done
grep -q "PROXY protocol header: not a PROXY protocol header (byte 0)" "$D/hoursd$live/hoursd.log" ||
	fail "hoursd$live did not log the connection without a PROXY header"
grep -q "198\.51\.100\.7:40000: closed" "$D/hoursd$live/hoursd.log" ||
	fail "hoursd$live did not take the address of the PROXY header"
say "straight to hoursd$live: no PROXY header, closed and logged; a header's address taken"

# Stopped with SIGTERM: each hoursd drains and exits; a sanitizer's report would be in its log.
"$HERE/cluster.sh" stop "$D"
! grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$D"/hoursd*/hoursd.log \
	"$D/policesim/policesim.log" 2>/dev/null || fail "a sanitizer reported an error (the files above)"
ok=1
printf '\n== cluster-check figures\n'
printf 'hoursd instance killed:  terminals answered again after %s s\n' "$R1"
printf 'primary killed:          standby promoted after %s s, writable through HAProxy after %s s, terminals answered again after %s s, old primary a standby again after %s s\n' \
	"$R2P" "$R2H" "$R2" "$R2R"
printf 'pusher killed:           every packet delivered once %s s after the kill\n' "$R3"
printf 'cluster-check:           passed in %d s\n' "$((SECONDS - T_START))"
