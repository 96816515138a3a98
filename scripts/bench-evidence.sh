#!/usr/bin/env bash
# scripts/bench-evidence.sh - `make bench-evidence`: PostgreSQL's CPU of the tamper
# evidence alone, a record at a time, the hash chain of migration 009 against the Merkle
# log of 015 (leaves built by PostgreSQL) and of 025 (a record's leaf stored with its row
# by hoursd), in the same minutes on one throwaway cluster.
#
#   EVIDENCE_RECORDS (20000)  records (500 a transaction, each with its judgement)
#   EVIDENCE_RUNS (3)         runs; medians are reported
#
# Four databases: "plain" (the migrations before 015, the chain's triggers dropped: the
# inserts alone), "chain" (the migrations before 015), "log015" (those before 025) and
# "log" (all of them).  In each, one backend inserts the records and their judgements;
# in "log" each record comes with its received_at and its leaf, as hoursd's ingest sends
# them (hoursd computes the leaf: a constant here, its cost is hoursd's, not
# PostgreSQL's).  Then, in "chain", the chain stage's statement links them
# (audit_chain_append), and in "log015" and "log" the log stage's reads run as hoursd
# makes them: the batch's leaves' data (audit_log_next), and the leaves again before a
# checkpoint (015: audit_log_data; 025: audit_log_recomputed, from the columns).  The
# backend's CPU is read from /proc/PID/stat (utime + stime).  Evidence = (CPU in "chain" or a log) - (CPU in "plain").
# Not a test: figures vary with the machine and its neighbours.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh
N=${EVIDENCE_RECORDS:-20000}
RUNS=${EVIDENCE_RUNS:-3}
TX=$(((N + 499) / 500))

work_dir hoursd-bench-evidence bench-evidence
scripts/pg.sh start "$WORK/pg" >/dev/null
CI=$(scripts/pg.sh conninfo "$WORK/pg")
CI=${CI/dbname=hoursd/} # each database named below
mkdir "$WORK/before" "$WORK/before025"
for f in sql/[0-9][0-9][0-9]_*.sql; do
	[[ $(basename "$f") < 015_ ]] && cp "$f" "$WORK/before/"
	[[ $(basename "$f") < 025_ ]] && cp "$f" "$WORK/before025/"
done
tck=$(getconf CLK_TCK)
calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A fresh database $1 at migrations dir $2, a terminal in it.
fresh() {
	command psql -X "$CI dbname=hoursd" -qc "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
	build/hoursctl -d "$CI dbname=$1" migrate --dir "$2" >/dev/null
	command psql -X "$CI dbname=$1" -qc "INSERT INTO terminal (phone, cert_pem, cert_sha256,
		cert_not_after, auth_code) VALUES ('13800000001', 'x', sha256('x'),
		now() + interval '1 year', 'a')"
}

# psql script on database $1 (stdin), the backend's CPU ticks around what follows the
# first line (the lines "ticks N" it prints).
ticked() {
	command psql -X "$CI dbname=$1" -qAt -v ON_ERROR_STOP=1 -v tx="$TX" 2>&1
}

INSERT="SELECT pg_backend_pid() AS pid \\gset
\\setenv PID :pid
\\! awk '{print \"ticks\", \$14 + \$15}' /proc/\$PID/stat
SELECT format('INSERT INTO training_record (terminal_id, record_no, record_time, student_no,
  coach_no, class_id, course_code, part, mode, vehicle_class, upload_type, record_status,
  max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict, raw, raw_sha256, gnss_time,
  session_login_at)
  SELECT 1, %L || g, now(), ''S000000000000082'', ''C000000000000001'', 1, ''1213010000'', 3,
    1, ''C1'', 1, 0, 300, 10, 31000000, 121000000, true, ''accepted'',
    decode(repeat(''ab'', 120), ''hex''), sha256(decode(repeat(''ab'', 120), ''hex'') ||
    int4send(g)), now(), now() FROM generate_series(1, 500) g;
  INSERT INTO record_judgement (terminal_id, record_no, reason, queued_at)
  SELECT 1, %L || g, NULL, now() FROM generate_series(1, 500) g',
  'R' || b || '-', 'R' || b || '-') FROM generate_series(1, :tx) b \\gexec
\\! awk '{print \"ticks\", \$14 + \$15}' /proc/\$PID/stat"

# As hoursd's ingest inserts a record since 025: received_at given, and the leaf.
INSERT_LEAF=${INSERT/session_login_at)/session_login_at, received_at, leaf)}
LEAF_VALUES="now(), now(), timestamptz ''epoch'' + 1765000000000000 * interval ''1 microsecond'',
    ''\\x$(printf 'ab%.0s' {1..32})''::bytea FROM"
INSERT_LEAF=${INSERT_LEAF/now(), now() FROM/$LEAF_VALUES}
[[ $INSERT_LEAF == *"received_at, leaf"*"::bytea FROM"* ]] || { echo "bench-evidence: the insert with leaves was not made" >&2; exit 1; }

CHAIN="SELECT linked FROM audit_chain_append(10000);
SELECT linked FROM audit_chain_append(10000);
SELECT linked FROM audit_chain_append(10000);
SELECT linked FROM audit_chain_append(10000);
SELECT linked FROM audit_chain_append(10000);
SELECT linked FROM audit_chain_append(10000);
\\! awk '{print \"ticks\", \$14 + \$15}' /proc/\$PID/stat"

LOG="SELECT lo, hi, length(encode(data, 'hex')) FROM audit_log_next() \\gset
\\! awk '{print \"ticks\", \$14 + \$15}' /proc/\$PID/stat
SELECT length(encode(audit_log_data(:lo, :hi), 'hex'));
\\! awk '{print \"ticks\", \$14 + \$15}' /proc/\$PID/stat"
# Since 025 the check before a checkpoint reads the leaves from the columns.
LOG025=${LOG/audit_log_data(/audit_log_recomputed(}

# The differences between successive "ticks" lines of stdin, µs a record, on one line.
per_record() {
	awk -v n="$N" -v tck="$tck" '/^ticks/ { if (seen) printf "%s ", ($2 - last) * 1000000 / tck / n;
		last = $2; seen = 1 } END { print "" }'
}

echo "== $RUNS runs of $N records (500 a transaction, each with its judgement)"
plains=() chains=() olds=() oreads=() logs=() reads=() checks=() ins=()
for r in $(seq 1 "$RUNS"); do
	fresh plain "$WORK/before"
	command psql -X "$CI dbname=plain" -qc "DROP TRIGGER training_record_chain ON training_record" \
		-c "DROP TRIGGER record_judgement_chain ON record_judgement"
	fresh chain "$WORK/before"
	fresh log015 "$WORK/before025"
	fresh log sql
	# in alternation, the same minutes for each
	p=$(ticked plain <<<"$INSERT" | per_record)
	c=$(printf '%s\n%s\n' "$INSERT" "$CHAIN" | ticked chain | per_record)
	o=$(printf '%s\n%s\n' "$INSERT" "$LOG" | ticked log015 | per_record)
	l=$(printf '%s\n%s\n' "$INSERT_LEAF" "$LOG025" | ticked log | per_record)
	read -r pi <<<"$p"
	read -r ci cl <<<"$c"
	read -r oi or oc <<<"$o"
	read -r li lr lc <<<"$l"
	plains+=("$pi")
	chains+=("$(calc "$ci - $pi + $cl")")
	olds+=("$(calc "$oi - $pi + $or + $oc")")
	oreads+=("$or")
	logs+=("$(calc "$li - $pi + $lr + $lc")")
	ins+=("$(calc "$li - $pi")")
	reads+=("$lr")
	checks+=("$lc")
	printf 'run %d: inserts alone %.1f us; chain: inserts %.1f + links %.1f; log 015: inserts %.1f + batch %.1f + check %.1f; log 025: inserts %.1f + batch %.1f + check %.1f us (a record)\n' \
		"$r" "$pi" "$ci" "$cl" "$oi" "$or" "$oc" "$li" "$lr" "$lc"
done
med() { printf '%s\n' "$@" | median; }
echo
printf 'evidence, chain (009):  %.1f us of PostgreSQL CPU a record (median)\n' "$(med "${chains[@]}")"
printf 'evidence, log (015):    %.1f us of PostgreSQL CPU a record (median; the batch read %.1f us, and as much again before a checkpoint)\n' \
	"$(med "${olds[@]}")" "$(med "${oreads[@]}")"
printf 'evidence, log (025):    %.1f us of PostgreSQL CPU a record (median; inserts %.1f, the batch read %.1f, the check before a checkpoint %.1f)\n' \
	"$(med "${logs[@]}")" "$(med "${ins[@]}")" "$(med "${reads[@]}")" "$(med "${checks[@]}")"
