#!/usr/bin/env bash
# scripts/soak.sh - `make soak` (and its short run in `make check`): a fault soak.
#
# Rounds of lessons over both listeners -- SOAK_TERMINALS TLS terminals (2013
# header, RSA-signed) and as many timing terminals on plain TCP (registration,
# PKCS#12, signed authentication), each with a new student who meets part 3 of
# the soak's syllabus (SOAK_RECORDS minutes) -- while one fault a round strikes
# mid-lesson, in turn (hoursd's kill only every other time round):
#   none | PostgreSQL crashes (pg_ctl -m immediate) and starts again |
#   policesim fails (5xx, busy with Retry-After, a reset, an answer lost after
#   storing) | hoursd is SIGKILLed and started again |
#   policesim hangs (SIGSTOP for 4 s, then SIGCONT)
# until SOAK_SECONDS have passed; then the faults stop, the pusher is given
# time to finish, hoursd is stopped with SIGTERM, and the invariants are checked:
#   1. every record termsim saw acknowledged (answered 0) is stored, exactly once;
#   2. every met part has exactly one push packet, and policesim stored each
#      packet exactly once (no packet left undone, none stored twice, no
#      duplicate with a different body);
#   3. no leak: hoursd's (and policesim's) descriptors and RSS, sampled at the
#      end of each round once no terminal is connected, do not grow over the
#      life of a process that lived 5 rounds or more (its second sample against
#      the least of its last three: descriptors by at most 2, RSS by at most
#      SOAK_RSS_SLACK_KB; RSS not judged under build/san);
#   4. hoursd exits 0 on the final SIGTERM (under build/san: no leak report);
#   5. every message sent again got its stored verdict: after each round its
#      lessons are sent again, the same bytes (RSA signatures), as terminals
#      whose answers were lost send them (docs/protocol.md, "Sent again"; the
#      TLS terminals the whole lesson, the timing ones its records and logouts):
#      each record is answered as it is stored (0 accepted, else refused), and
#      a lesson answered wholly good the first time is answered so again.
# Prints a line a round, then the figures and each invariant as PASS or FAIL;
# exits 1 on a violation (the work directory is kept then).
#
#   SOAK_SECONDS (300)     the faulty part; at least one cycle of ten rounds
#   SOAK_TERMINALS (16)    per listener
#   SOAK_RECORDS (10)      per lesson (the syllabus's part 3 needs exactly these)
#   SOAK_RATE (5)          records/s per terminal
#   SOAK_BIN (build)       where hoursd, hoursctl, termsim and policesim come from
#   SOAK_RSS_SLACK_KB (8192; -1, not judged, with a SOAK_BIN of build/san)
#   SOAK_KEEP=1            keep the work directory
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh
SECS=${SOAK_SECONDS:-300}
NT=${SOAK_TERMINALS:-16}
NR=${SOAK_RECORDS:-10}
RATE=${SOAK_RATE:-5}
BIN=${SOAK_BIN:-build}
# ASan's quarantine and caches grow RSS by design: its leak check at exit stands in.
case $BIN in *san*) SLACK=${SOAK_RSS_SLACK_KB:--1} ;; *) SLACK=${SOAK_RSS_SLACK_KB:-8192} ;; esac
# hoursd is killed in every other cycle of five, so that each of its processes
# lives ten rounds: long enough for the leak check to see a trend.
FAULTS=(none pg-crash police-fail hoursd-kill police-hang none pg-crash police-fail none police-hang)
declare -A n_fault

HPID= PPID_SIM= failed=0
work_dir hoursd-soak soak # kept on a violation
WORK_KEEP=${SOAK_KEEP:-}
end_at_exit PPID_SIM
end_at_exit HPID KILL
on_exit wait # the round's termsims
say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }

tls_phones=() timing_phones=()
for i in $(seq 1 "$NT"); do
	tls_phones+=("$(printf '0137%08d' "$i")")
	timing_phones+=("$(printf '0136%08d' "$i")")
done
say "setting up: $NT TLS and $NT timing terminals, $NR records a lesson, ${SECS} s of faults (work: $WORK)"
scripts/pki.sh "$WORK/pki" "${tls_phones[@]}" "${timing_phones[@]}" >/dev/null 2>&1
scripts/pg.sh start "$WORK/pg" "$(free_port)" >/dev/null
CI=$(scripts/pg.sh conninfo "$WORK/pg")
ctl() { "$BIN/hoursctl" -d "$CI" "$@" >/dev/null; }
ctl migrate --dir sql
ctl school add SOAK0001 "Soak driving school"
for p in "${tls_phones[@]}"; do
	ctl terminal add "$p" --cert "$WORK/pki/term-$p.crt" --sign-cert "$WORK/pki/sign-rsa-$p.crt"
	ctl terminal assign "$p" SOAK0001
done
for i in $(seq 1 "$NT"); do
	p=${timing_phones[$((i - 1))]}
	ctl terminal add "$p" --p12 "$WORK/pki/term-$p.p12" --p12-pass 123456 \
		--imei "860$p" --terminal-no "$(printf '32000000%08d' "$i")"
	ctl terminal assign "$p" SOAK0001
done

# Part 3 of C1 is met by one whole lesson.
cat >"$WORK/syllabus.yaml" <<YAML
syllabus: "soak (scripts/soak.sh)"
classes:
  C1:
    parts:
      3: { required_minutes: $NR, kinds: [vehicle] }
YAML
port=$(free_port) plain=$(free_port) pport=$(free_port)
CONF_SYLLABUS=$WORK/syllabus.yaml write_config "$WORK/hoursd.yaml" "$CI" "$port" "$plain"
push_config "$WORK/hoursd.yaml" "$pport" "${tls_phones[0]}" "${tls_phones[0]}"

start_policesim() {
	"$BIN/policesim" --listen "127.0.0.1:$pport" --cert "$WORK/pki/server.crt" \
		--key "$WORK/pki/server.key" --client-ca "$WORK/pki/ca.crt" \
		--verify-cert "$WORK/pki/sign-rsa-${tls_phones[0]}.crt" --store "$WORK/police.jsonl" \
		>>"$WORK/policesim.log" 2>&1 &
	PPID_SIM=$!
	for _ in $(seq 100); do grep -q 'policesim listening' "$WORK/policesim.log" && return 0; sleep 0.1; done
	echo "policesim did not start; see $WORK/policesim.log"
	failed=1
	exit 1
}
# policesim's admin (loopback, the same TLS port): GET PATH or POST PATH BODY.
police() {
	curl -sS --max-time 5 --cacert "$WORK/pki/ca.crt" --cert "$WORK/pki/term-${tls_phones[0]}.crt" \
		--key "$WORK/pki/term-${tls_phones[0]}.key" ${2:+--data "$2"} \
		"https://localhost:$pport$1"
}
police_stat() {
	police /_stats | python3 -c "import json,sys
d = json.load(sys.stdin)
print(d.get('$1', d.get('stats', {}).get('$1', '?')))"
}

# Idle: no connection to either listener open on hoursd's side any more
# (established, or closed by the peer: hoursd may not yet
# have read the EOFs of the termsims just gone), at most 5 s.
idle_wait() {
	local a b n
	a=$(printf '%04X' "$port") b=$(printf '%04X' "$plain")
	for _ in $(seq 50); do
		n=$(awk -v a="$a" -v b="$b" 'NR > 1 { split($2, l, ":");
			if ((l[2] == a || l[2] == b) && ($4 == "01" || $4 == "08")) n++ } END { print n + 0 }' \
			/proc/net/tcp /proc/net/tcp6 2>/dev/null)
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
}
# One sample: "pid fds rss_kB" of a process.
sample() {
	local fds rss
	fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null)
	echo "$1 $fds ${rss:-0}"
}

start_policesim
start_hoursd "$BIN/hoursd" "$WORK/hoursd.yaml" "$WORK/hoursd.log" || { failed=1; exit 1; }

# Record clock: each round's lessons take their own minutes, from far enough back
# that the last round's do not reach the present.
max_rounds=$((SECS / 2 + 20))
t0=$(($(date +%s) / 60 * 60 - max_rounds * (NR + 2) * 60))

# One round: both termsims, the fault a second in, then both waited for.
round() { # N FAULT
	local r=$1 fault=$2 a b ra=0 rb=0 seq
	seq=$((1 + r * NR))
	[ $((seq + NR)) -le 9999 ] || { say "round $r: record sequences exhausted"; return 1; }
	local start=$((t0 + r * (NR + 2) * 60))
	local common=(--lesson "$NR" --rate "$RATE" --window 16
		--course 1213010000 --record-seq "$seq" --record-start "$start" --timeout 40)
	"$BIN/termsim" --tls --layout 2013 --port "$port" --ca "$WORK/pki/ca.crt" \
		--phone "${tls_phones[0]}" --terminals "$NT" --cert "$WORK/pki/term-{}.crt" \
		--key "$WORK/pki/term-{}.key" --sign-key "$WORK/pki/sign-rsa-{}.key" \
		--student "$(printf 'S1%04d0000000000' "$r")" --coach "$(printf 'C1%04d0000000000' "$r")" \
		--records-file "$WORK/acked.tls" "${common[@]}" >"$WORK/round$r.tls" 2>>"$WORK/termsim.log" &
	a=$!
	"$BIN/termsim" --plain --port "$plain" --phone "${timing_phones[0]}" --terminals "$NT" \
		--student "$(printf 'S2%04d0000000000' "$r")" --coach "$(printf 'C2%04d0000000000' "$r")" \
		--records-file "$WORK/acked.timing" "${common[@]}" >"$WORK/round$r.timing" 2>>"$WORK/termsim.log" &
	b=$!
	sleep 1
	n_fault[$fault]=$((${n_fault[$fault]:-0} + 1))
	case $fault in
	pg-crash)
		scripts/pg.sh crash "$WORK/pg" >/dev/null
		sleep 1
		scripts/pg.sh start "$WORK/pg" >/dev/null
		;;
	# (no "timeout" fault: policesim holds such a request, and its descriptor, for an
	# hour by design; the hang below makes the pusher time out instead)
	police-fail) police /_faults "5xx:2,reset:1,lost:1,busy:1" >/dev/null ;;
	hoursd-kill)
		kill -KILL "$HPID"
		wait "$HPID" 2>/dev/null || true
		start_hoursd "$BIN/hoursd" "$WORK/hoursd.yaml" "$WORK/hoursd.log" || { failed=1; exit 1; }
		;;
	police-hang)
		kill -STOP "$PPID_SIM"
		sleep 4
		kill -CONT "$PPID_SIM"
		;;
	esac
	wait "$a" || ra=$?
	wait "$b" || rb=$?
	# Sent again, faults over: the round's lessons once more, the same bytes (a
	# second on: a timing terminal's signed timestamp must be newer than its last);
	# whole over TLS, from the records on over TCP (the logouts after the lesson closed).
	local ea=0 eb=0
	sleep 1.1
	"$BIN/termsim" --tls --layout 2013 --port "$port" --ca "$WORK/pki/ca.crt" \
		--phone "${tls_phones[0]}" --terminals "$NT" --cert "$WORK/pki/term-{}.crt" \
		--key "$WORK/pki/term-{}.key" --sign-key "$WORK/pki/sign-rsa-{}.key" \
		--student "$(printf 'S1%04d0000000000' "$r")" --coach "$(printf 'C1%04d0000000000' "$r")" \
		--records-file "$WORK/again.tls" "${common[@]}" --rate 0 >"$WORK/again$r.tls" 2>>"$WORK/termsim.log" &
	a=$!
	"$BIN/termsim" --plain --port "$plain" --phone "${timing_phones[0]}" --terminals "$NT" \
		--student "$(printf 'S2%04d0000000000' "$r")" --coach "$(printf 'C2%04d0000000000' "$r")" \
		--records-file "$WORK/again.timing" "${common[@]}" --rate 0 \
		--only records,student_logout,coach_logout >"$WORK/again$r.timing" 2>>"$WORK/termsim.log" &
	b=$!
	wait "$a" || ea=$?
	wait "$b" || eb=$?
	sleep 1.1 # and the next round's after these
	[ "$ra" != 0 ] || [ "$ea" = 0 ] || echo "round $r tls" >>"$WORK/again.bad"
	[ "$rb" != 0 ] || [ "$eb" = 0 ] || echo "round $r timing" >>"$WORK/again.bad"
	local h p
	idle_wait
	h=$(sample "$HPID") p=$(sample "$PPID_SIM")
	echo "$h" >>"$WORK/samples.hoursd"
	echo "$p" >>"$WORK/samples.policesim"
	say "round $r ($fault): termsim exit $ra/$rb, sent again $ea/$eb; hoursd pid/fds/rss_kB $h; policesim $p"
}

# Each process that lived 5 rounds or more: its second sample (after the
# first lessons warmed it up) against the least of its last three (a leak
# stays; a connection still closing or a push still in flight does not).
# RSS is not judged under ASan (slack -1): its quarantine grows by design,
# and its leak check at exit stands in.
leak_check() { # FILE NAME
	awk -v slack="$SLACK" -v name="$2" '
	{ n[$1]++; f[$1, n[$1]] = $2; r[$1, n[$1]] = $3 }
	END {
		bad = 0; checked = 0
		for (p in n) {
			if (n[p] < 5) {
				printf "  %s pid %s: %d samples, too few to judge\n", name, p, n[p]
				continue
			}
			checked++
			fl = f[p, n[p]]; rl = r[p, n[p]]
			for (k = n[p] - 2; k < n[p]; k++) {
				if (f[p, k] < fl) fl = f[p, k]
				if (r[p, k] < rl) rl = r[p, k]
			}
			printf "  %s pid %s: %d samples, fds %d -> %d, RSS %d -> %d kB\n", name, p, n[p], f[p, 2], fl, r[p, 2], rl
			if (fl > f[p, 2] + 2 || (slack >= 0 && rl > r[p, 2] + slack)) bad = 1
		}
		if (checked == 0) { print "  " name ": no process lived 5 rounds"; bad = 1 }
		exit bad
	}' "$1"
}

begin=$(date +%s)
r=0
while :; do
	now=$(date +%s)
	# at least one whole cycle of faults, then until the time is up
	[ "$r" -ge ${#FAULTS[@]} ] && [ $((now - begin)) -ge "$SECS" ] && break
	round "$r" "${FAULTS[$((r % ${#FAULTS[@]}))]}" || { failed=1; break; }
	r=$((r + 1))
done
rounds=$r
# Two quiet rounds: the leak samples of the last process, and the pusher's backlog.
for _ in 1 2; do round "$r" none || failed=1; r=$((r + 1)); done
rounds=$r

say "faults over after $rounds rounds; waiting for the pusher (up to 120 s)"
for _ in $(seq 240); do
	[ "$(psql -c "SELECT count(*) FROM push_packet WHERE state <> 'done'")" = 0 ] &&
		[ "$(psql -c "SELECT count(*) FROM judge_queue")" = 0 ] && break
	sleep 0.5
done
sleep 1
kill -TERM "$HPID"
hrc=0
wait "$HPID" || hrc=$?
HPID=

# ---- the invariants ----
verdict() { # OK NAME DETAIL
	if [ "$1" = 0 ]; then echo "PASS  $2: $3"; else echo "FAIL  $2: $3"; failed=1; fi
}
cat "$WORK"/acked.tls "$WORK"/acked.timing 2>/dev/null | awk '$2 == 0 {print $1}' | sort >"$WORK/acked"
acked=$(wc -l <"$WORK/acked")
acked_twice=$(uniq -d "$WORK/acked" | wc -l)
psql -c "SELECT record_no FROM training_record" | sort >"$WORK/stored"
stored=$(wc -l <"$WORK/stored")
stored_twice=$(psql -c "SELECT count(*) FROM (SELECT terminal_id, record_no FROM training_record
	GROUP BY 1, 2 HAVING count(*) > 1) d")
missing=$(sort -u "$WORK/acked" | comm -23 - <(sort -u "$WORK/stored") | wc -l)
sent=$(cat "$WORK"/acked.tls "$WORK"/acked.timing 2>/dev/null | wc -l)

met=$(psql -c "SELECT count(*) FROM progress WHERE part = 3 AND vehicle >= $NR")
packets=$(psql -c "SELECT count(*) FROM push_packet")
packets_dup=$(psql -c "SELECT count(*) FROM (SELECT student_no, part FROM push_packet GROUP BY 1, 2
	HAVING count(*) > 1) d")
met_without=$(psql -c "SELECT count(*) FROM progress pr WHERE pr.part = 3 AND pr.vehicle >= $NR
	AND NOT EXISTS (SELECT 1 FROM push_packet p WHERE p.student_no = pr.student_no AND p.part = 3)")
undone=$(psql -c "SELECT count(*) FROM push_packet WHERE state <> 'done'")
attempts=$(psql -F' ' -c "SELECT coalesce(outcome, '-'), count(*) FROM push_attempt GROUP BY 1 ORDER BY 1" | tr '\n' ' ')
psql -c "SELECT id FROM push_packet" | sort >"$WORK/packets"
python3 - "$WORK/police.jsonl" >"$WORK/police.ids" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        d = json.loads(line)
        print(d.get("packet_id") or d.get("id") or d.get("body", {}).get("packet_id", "?"))
PY
sort "$WORK/police.ids" -o "$WORK/police.ids"
police_stored=$(wc -l <"$WORK/police.ids")
police_twice=$(uniq -d "$WORK/police.ids" | wc -l)
police_missing=$(comm -23 "$WORK/packets" "$WORK/police.ids" | wc -l)
police_extra=$(comm -13 "$WORK/packets" "$WORK/police.ids" | wc -l)
dups=$(police_stat duplicates) differing=$(police_stat duplicates_differing)
psql -F' ' -c "SELECT record_no, CASE verdict WHEN 'accepted' THEN 0 ELSE 1 END FROM training_record" |
	LC_ALL=C sort >"$WORK/stored.verdicts"
cat "$WORK"/again.tls "$WORK"/again.timing 2>/dev/null | LC_ALL=C sort >"$WORK/again" || true
again=$(wc -l <"$WORK/again")
again_other=$(LC_ALL=C join "$WORK/again" "$WORK/stored.verdicts" | awk '($2 == 0) != ($3 == 0)' | wc -l)
again_unstored=$(LC_ALL=C join -v 1 "$WORK/again" "$WORK/stored.verdicts" | wc -l)
again_lessons=0
[ ! -f "$WORK/again.bad" ] || again_lessons=$(wc -l <"$WORK/again.bad")

echo
echo "== soak figures: $rounds rounds (a cycle of ${#FAULTS[@]}: ${FAULTS[*]}), $((2 * NT)) terminals"
echo "records: $sent answered to termsim, $acked acknowledged (0), $stored stored; $again sent again"
echo "parts met: $met; push packets $packets; policesim stored $police_stored, answered $dups duplicates (retries of stored packets)"
echo "push attempts by outcome: $attempts"
echo "faults: ${n_fault[pg-crash]:-0} PostgreSQL crashes, ${n_fault[hoursd-kill]:-0} hoursd SIGKILLs ($(grep -c ' ready' "$WORK/hoursd.log") starts), ${n_fault[police-fail]:-0} policesim failures, ${n_fault[police-hang]:-0} policesim hangs"
echo
verdict "$([ "$missing" = 0 ] && [ "$acked_twice" = 0 ] && [ "$stored_twice" = 0 ] && [ "$acked" -gt 0 ] && echo 0 || echo 1)" \
	"every acknowledged record stored exactly once" \
	"$acked acknowledged, $missing missing, $acked_twice acknowledged twice, $stored_twice stored twice"
verdict "$([ "$met_without" = 0 ] && [ "$packets_dup" = 0 ] && [ "$met" -gt 0 ] && echo 0 || echo 1)" \
	"every met part has exactly one push packet" "$met met, $met_without without a packet, $packets_dup with two"
verdict "$([ "$undone" = 0 ] && [ "$police_twice" = 0 ] && [ "$police_missing" = 0 ] && [ "$police_extra" = 0 ] && [ "$differing" = 0 ] && echo 0 || echo 1)" \
	"every packet pushed exactly once" \
	"$packets packets, $undone not done, $police_missing not at policesim, $police_extra unknown there, $police_twice stored twice, $differing duplicates with another body"
verdict "$([ "$again_other" = 0 ] && [ "$again_unstored" = 0 ] && [ "$again_lessons" = 0 ] && [ "$again" -gt 0 ] && echo 0 || echo 1)" \
	"every message sent again got its stored verdict" \
	"$again records sent again, $again_other answered otherwise than stored, $again_unstored not stored; $again_lessons lessons answered wholly good the first time and not again"
if out=$(leak_check "$WORK/samples.hoursd" hoursd); then lk=0; else lk=1; fi
verdict "$lk" "hoursd leaks no descriptor or memory" "each process of 5 rounds or more: second sample against the least of the last three"
echo "$out"
if out=$(leak_check "$WORK/samples.policesim" policesim); then lk=0; else lk=1; fi
verdict "$lk" "policesim leaks no descriptor or memory" "the same"
echo "$out"
verdict "$hrc" "hoursd exits 0 on SIGTERM" "exit status $hrc"
kill -TERM "$PPID_SIM" 2>/dev/null
prc=0
wait "$PPID_SIM" || prc=$?
PPID_SIM=
verdict "$prc" "policesim exits 0 on SIGTERM" "exit status $prc"
[ "$failed" = 0 ] || { echo "soak: FAILED"; exit 1; }
echo "soak: all invariants hold"
