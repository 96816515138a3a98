#!/usr/bin/env bash
# scripts/run-demo.sh - `make run`: hoursd for real on this machine.
#
# A PostgreSQL cluster under var/pg, a development PKI under var/pki, the
# migrations, three registered demo terminals, hoursd in the foreground with
# its TLS listener on 127.0.0.1:${HOURSD_PORT:-8808} and its plain-TCP one on
# the next port, a demo terminal (termsim, TLS, 2013 header) sending a
# position every second, and a second one that behaves as a real timing
# terminal: plain TCP, national timing framing, a registration that hands it
# its PKCS#12, a signed authentication, then a signed lesson of 30 training
# records (one a second on an accelerated clock), after two lessons the
# auditors' findings name (docs/audit.md): an off-site one and a
# shortened one.  The lesson's student is enrolled and scheduled first (docs/students.md), the police platform's pre-entry question
# is asked of hoursd (policesim pre-enter, mutual TLS), and a legacy student's
# hours are back-filled from a three-party form and approved: both students'
# parts wait in the push outbox (no push.url here, unless as below).  Ctrl-C stops all of it
# (hoursd drains; a second Ctrl-C cuts the drain short) and PostgreSQL; so
# does an exit on an error or a broken stdout (make run | head): the
# cleanup leaves no process behind.  A second run reuses var/.
#
# By default (HOURSD_DEMO_PUSH=national; =none leaves the packets waiting):
# also policesim as the national platform (docs/push-contract.md section 9)
# on PORT + 3, hoursd pushing to it under push.profile national, and a demo
# syllabus in which a minute counts as an hour (the 30-minute lesson meets
# part 3).  The demo books the student's exam of subject 3 at policesim
# before the lesson (refused) and once the part was pushed with its teaching
# log (booked), and writes that teaching log to var/national/ with hoursctl
# explain --pdf.  The school is sealed (hoursctl school seal: esignature);
# policesim holds the stage review until its supervisor approves it, then
# notifies hoursd (POST /reviewmsg on the readiness listener) and push show
# prints the review.  The registry goes upward too: the school, terminals,
# a coach and a vehicle, their binding and the students, in order
# (hoursctl push upward).
#
# What it prints: a line a stage (set up, each terminal and lesson, the
# pre-entry questions, the back-fill, the push and booking, and at the end
# the positions, students, packets, findings, report and tamper evidence),
# the tools' own output in var/log/ (each line names its file); at the very
# end, the command that starts the demo database again (make db) to explore
# it with hoursctl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh
ROOT=$PWD
VAR=$ROOT/var
PORT=${HOURSD_PORT:-8808}
PLAIN_PORT=$((PORT + 2)) # the admin listener has PORT + 1 (8809)
TERMINALS=(013800000001 013800000002 013800000003)

DEMO_PUSH=${HOURSD_DEMO_PUSH:-national}
LOG=$VAR/log
pids=()   # the terminals (termsim)
booker=   # HOURSD_DEMO_PUSH=national: the booking before and after the push
hoursd=   # hoursd, in a session of its own
lesson=   # the timing terminal's lesson
started=  # PostgreSQL was started: stop it
stamp=    # the demo lesson's numbers (below)
CONNINFO=

# Say something; a reader gone (make run | head) does not stop the cleanup.
say() {
	printf '%s\n' "$*" 2>/dev/null || true
}

# Ctrl-C (or TERM) again while stopping: hoursd's second signal (it stops at
# once), and the terminals killed.
hurry() {
	[ -z "$hoursd" ] || kill -TERM "$hoursd" 2>/dev/null
	for p in "${pids[@]}" $lesson $booker; do kill -KILL "$p" 2>/dev/null; done
}

# Whether pid runs (a child that exited stays a zombie until waited for).
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]
}

# Wait until pid is gone, whatever signals interrupt the wait.
reap() {
	while kill -0 "$1" 2>/dev/null; do wait "$1" 2>/dev/null; done
}

# The one way out (EXIT), also on INT and TERM (how the demo ends: exit 0
# when all of it stopped) and PIPE (a reader gone), which exit through it.
stop() {
	local rc=$?
	set +e
	trap '' PIPE # writes to a broken stdout fail instead of killing us (and the tools)
	trap hurry INT TERM
	trap - EXIT
	for p in "${pids[@]}" $lesson $booker; do kill -TERM "$p" 2>/dev/null; done
	[ -z "$hoursd" ] || kill -TERM "$hoursd" 2>/dev/null
	for p in $hoursd "${pids[@]}" $lesson $booker; do reap "$p"; done
	if [ -n "$started" ]; then
		if [ -n "$stamp" ]; then
			summary 2>/dev/null
		fi
		# Not to be cut short by one more Ctrl-C (ignored by pg.sh and pg_ctl too).
		trap '' INT TERM
		scripts/pg.sh stop "$VAR/pg" >/dev/null || {
			say "run-demo.sh: PostgreSQL under var/pg may still run"
			rc=1
		}
		say "stopped.  To explore what the demo stored: make db (starts its PostgreSQL"
		say "again), then build/hoursctl -d \"$CONNINFO\" student list (or -c var/hoursd.yaml);"
		say "make db-stop when done."
	fi
	exit "$rc"
}

# explain's first part as a phrase: minutes counted (all kinds), required, push state.
part_line() {
	awk '$1 ~ /^[1-4]$/ && NF >= 10 {
		printf "part %s, %d minutes counted of %s required, push %s", $1, $3 + $4 + $5 + $6, $9, $10
		found = 1; exit }
		END { if (!found) printf "no part counted yet" }'
}

# The end of the demo in a line a subject (the full texts: the commands named).
summary() {
	local q quarter
	say "positions stored: $(build/hoursctl -d "$CONNINFO" terminal list --format csv |
		awk -F, 'NR > 1 { n += $5 } END { print n + 0 }') (hoursctl terminal list)"
	say "lesson student S$stamp: $(build/hoursctl -d "$CONNINFO" explain "S$stamp" | part_line)" \
		"(hoursctl explain S$stamp)"
	say "legacy student L$stamp: $(build/hoursctl -d "$CONNINFO" explain "L$stamp" | part_line)" \
		"(hoursctl explain L$stamp)"
	say "push outbox: $(build/hoursctl -d "$CONNINFO" push list --format csv |
		awk -F, 'NR > 1 { n[$4]++ } END { for (s in n) printf "%s%d %s", sep, n[s], s; sep = ", " }') (hoursctl push list)"
	q=$(build/hoursctl -c "$VAR/hoursd.yaml" findings --school DEMO0001 --format json |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	say "findings of DEMO0001: $q (hoursctl -c var/hoursd.yaml findings --school DEMO0001)"
	# This quarter's joint report; its public pages open in any browser.
	quarter="$(date +%Y)Q$((($(date +%-m) + 2) / 3))"
	build/hoursctl -c "$VAR/hoursd.yaml" report quarterly "$quarter" --out "$VAR/report" \
		>"$LOG/report.log" 2>&1 &&
		say "quarterly report: $VAR/report/quality-$quarter.html (the published index," \
			"in Chinese; a page per school beside it)"
	# The demo student's teaching log as the school prints it, with the lesson's photo.
	build/hoursctl -d "$CONNINFO" explain "S$stamp" --part 3 \
		--pdf "$VAR/report/teaching-log-S$stamp.pdf" >>"$LOG/report.log" 2>&1 &&
		say "teaching log: $VAR/report/teaching-log-S$stamp.pdf (hoursctl explain S$stamp --pdf FILE)"
	say "tamper evidence: $(build/hoursctl -c "$VAR/hoursd.yaml" audit verify | tail -1)"
}

# A setup step's output into var/log/setup.log; on failure its last lines.
quiet() {
	"$@" >>"$LOG/setup.log" 2>&1 || {
		tail -n 5 "$LOG/setup.log" >&2
		exit 1
	}
}
trap stop EXIT
trap 'exit 0' INT TERM
trap 'exit 141' PIPE

mkdir -p "$VAR" "$LOG"
: >"$LOG/setup.log"
quiet scripts/pki.sh "$VAR/pki" "${TERMINALS[@]}"
started=1 # pg.sh may have started it before it fails
scripts/pg.sh start "$VAR/pg" >/dev/null
CONNINFO=$(scripts/pg.sh conninfo "$VAR/pg")

ALLOW_ROOT=false
[ "$(id -u)" = 0 ] && ALLOW_ROOT=true
# The scripts' configuration (lib.sh) with the demo's own: the readiness
# listener and its CA, an admin listener, the audit's checkpoint key, and the
# registry's checks at every login as shipped (refuse: docs/registry.md).
CONF_PKI=$VAR/pki CONF_ALLOW_ROOT=$ALLOW_ROOT CONF_ADMIN="127.0.0.1:$((PORT + 1))" CONF_REGISTRY=refuse \
	CONF_LISTEN_MORE="  readiness: \"127.0.0.1:$((PORT + 4))\"" \
	write_config "$VAR/hoursd.yaml" "$CONNINFO" "$PORT" "$PLAIN_PORT"
cat >>"$VAR/hoursd.yaml" <<YAML
readiness:
  ca: $VAR/pki/ca.crt
audit:
  checkpoint_key: $VAR/pki/checkpoint.key
  checkpoint_interval_s: 10
YAML

# The national platform (policesim) and the push to it; T1's TLS certificate
# connects, T1's RSA record-signing key signs (user= its serial).
PSIM_PORT=$((PORT + 3))
if [ "$DEMO_PUSH" = national ]; then
	mkdir -p "$VAR/national"
	# A minute counts as an hour and part 3 has no mileage gate: the demo lesson meets it.
	sed -e 's/^hour_minutes: 60 /hour_minutes: 1 /' -e 's/^effective_minutes: 45 /effective_minutes: 1 /' \
		-e 's/min_mileage_km: 300 /min_mileage_km: 0 /' conf/syllabus.yaml >"$VAR/syllabus-demo.yaml"
	sed -i "s|  syllabus: .*|  syllabus: $VAR/syllabus-demo.yaml|" "$VAR/hoursd.yaml"
	cat >>"$VAR/hoursd.yaml" <<YAML
push:
  url: "https://localhost:$PSIM_PORT/top"
  profile: national
  national_review: true
  national_review_min_s: 60
  ca: $VAR/pki/ca.crt
  cert: $VAR/pki/term-${TERMINALS[0]}.crt
  key: $VAR/pki/term-${TERMINALS[0]}.key
  sign_key: $VAR/pki/sign-rsa-${TERMINALS[0]}.key
  sign_cert: $VAR/pki/sign-rsa-${TERMINALS[0]}.crt
  retry_min_s: 1
  retry_max_s: 10
YAML
	build/policesim --listen "127.0.0.1:$PSIM_PORT" --cert "$VAR/pki/server.crt" \
		--key "$VAR/pki/server.key" --client-ca "$VAR/pki/ca.crt" \
		--verify-cert "$VAR/pki/sign-rsa-${TERMINALS[0]}.crt" --store "$VAR/national/accepted.jsonl" \
		--national-dir "$VAR/national" >"$LOG/policesim.log" 2>&1 &
	pids+=($!)
	say "policesim: the national platform on 127.0.0.1:$PSIM_PORT, hoursd pushes to it ($LOG/policesim.log)"
	# Reviews wait for the supervisor (policesim's POST /_review) instead of approving at once.
	for _ in $(seq 50); do
		curl -sS --cacert "$VAR/pki/ca.crt" --cert "$VAR/pki/term-${TERMINALS[0]}.crt" \
			--key "$VAR/pki/term-${TERMINALS[0]}.key" -d '{"hold":true}' \
			"https://localhost:$PSIM_PORT/_review" >/dev/null 2>&1 && break
		sleep 0.1
	done
fi

# POST /booking of the student's exam subject at policesim: its answer.
book() { # STUDENT SUBJECT
	curl -sS --cacert "$VAR/pki/ca.crt" --cert "$VAR/pki/term-${TERMINALS[0]}.crt" \
		--key "$VAR/pki/term-${TERMINALS[0]}.key" -d "{\"stunum\":\"$1\",\"subject\":$2}" \
		"https://localhost:$PSIM_PORT/booking"
}

# The stage review: pending at the platform (policesim holds reviews) until its
# supervisor decides; the platform's notice (POST /reviewmsg on the readiness
# listener, mutual TLS) makes hoursd fetch it at once; push show prints it.
review_demo() { # STUDENT PART
	local id
	id=$(build/hoursctl -d "$CONNINFO" push list --state done 2>/dev/null |
		awk -v s="$1" '$2 == s {print $1; exit}')
	[ -n "$id" ] || return 0
	sleep 2
	say "review of subject $2 for $1, not decided yet:"
	build/hoursctl -d "$CONNINFO" push show "$id" | grep -A1 'review:' || true
	curl -sS --cacert "$VAR/pki/ca.crt" --cert "$VAR/pki/term-${TERMINALS[0]}.crt" \
		--key "$VAR/pki/term-${TERMINALS[0]}.key" \
		-d "{\"stunum\":\"$1\",\"subject\":\"$2\"}" "https://localhost:$PSIM_PORT/_review" >/dev/null
	say "the supervisor approved it; the platform's notice: $(curl -sS --cacert "$VAR/pki/ca.crt" \
		--cert "$VAR/pki/term-${TERMINALS[0]}.crt" --key "$VAR/pki/term-${TERMINALS[0]}.key" \
		-d "{\"reviewtype\":\"2\",\"data\":{\"stunum\":\"$1\",\"subject\":\"$2\"}}" \
		"https://localhost:$((PORT + 4))/reviewmsg")"
	sleep 3
	build/hoursctl -d "$CONNINFO" push show "$id" | grep -A3 'review:' || true
}

# The student's exam booked before the push (refused), then once the part is pushed
# (part N opens exam subject N).
book_demo() { # STUDENT PART
	local student=$1 part=$2
	say "booking subject $part for $student before its part is pushed: $(book "$student" "$part")"
	for _ in $(seq 300); do
		st=$(build/hoursctl -d "$CONNINFO" push list --state done 2>/dev/null | grep -c "$student" || true)
		[ "$st" -gt 0 ] && break
		sleep 1
	done
	say "booking subject $part for $student after the push: $(book "$student" "$part")"
	review_demo "$student" "$part"
	build/hoursctl -d "$CONNINFO" explain "$student" --pdf "$VAR/national/$student.pdf" --part "$part" \
		>>"$LOG/setup.log" 2>&1 &&
		say "its teaching log: $VAR/national/$student.pdf (the pushed one: $VAR/national/pdf-*.pdf)"
	prove_demo "$student" "$part"
}

# The pushed part's proof (docs/audit.md), once its body is under a signed
# checkpoint, checked without the database as the police would.
prove_demo() { # STUDENT PART
	local student=$1 part=$2 proof="$VAR/national/proof-$1-$2.json"
	for _ in $(seq 60); do
		build/hoursctl -d "$CONNINFO" audit prove "$student" "$part" --out "$proof" \
			>>"$LOG/setup.log" 2>&1 && break
		sleep 1
	done
	[ -s "$proof" ] || return 0
	say "its proof: $proof; checked without the database: $(build/hoursctl audit check-proof \
		"$proof" --ca "$VAR/pki/ca.crt" --key "$VAR/pki/checkpoint.pub" 2>&1 | tail -1 | cut -c1-60)..."
}

# Master data upward (docs/push-contract.md 9.8): the registry's coach and
# vehicle reach the platform in the order they were registered, after the
# school and the terminal; hoursctl push upward lists what was sent.
upward_demo() { # COACH PLATE
	local out n
	for _ in $(seq 60); do
		out=$(build/hoursctl -d "$CONNINFO" push upward --state done 2>/dev/null) || true
		n=$(printf '%s\n' "$out" | grep -cE "(coach +POST +$1|trainingcar +POST +$2) " || true)
		[ "$n" -ge 2 ] && break
		sleep 1
	done
	say "upward: coach $1 and vehicle $2 accepted by the national platform, in order:" \
		"$(printf '%s\n' "$out" | awk 'NR > 1 && !seen[$2]++ {print $2}' | paste -sd, -)" \
		"(hoursctl push upward)"
}

# A lesson's teaching log and photos go upward when the lesson closes (docs/
# push-contract.md 9.3): the photo's file, the log (its photo1 the file's
# id), the photo's record; hoursctl push upward lists them.
lesson_log_demo() {
	local out log img
	for _ in $(seq 120); do
		out=$(build/hoursctl -d "$CONNINFO" push upward --state done 2>/dev/null) || true
		log=$(printf '%s\n' "$out" | awk '$2 == "classrecord" && $7 == "0" {print $4; exit}')
		img=$(printf '%s\n' "$out" | awk '$2 == "trainimginfo" {n++} END {print n + 0}')
		[ -n "$log" ] && [ "$img" -gt 0 ] && break
		sleep 1
	done
	[ -n "$log" ] && say "upward: teaching log $log sent when its lesson closed (hoursctl push upward)"
	[ "${img:-0}" -gt 0 ] && say "upward: $img lesson photo(s) sent: the file (/imageup/stuimg)," \
		"then its record (/trainimginfo), around the teaching log that names it"
	return 0
}

# The school's training site goes up as /region; its review waits at the
# platform (reviews held) until its supervisor approves it, and the
# platform's notice (reviewmsg type 1) makes hoursd fetch it at once.
region_demo() {
	local line
	for _ in $(seq 60); do
		line=$(build/hoursctl -d "$CONNINFO" push upward --state done 2>/dev/null |
			awk '$2 == "region" {print; exit}')
		[ -n "$line" ] && break
		sleep 1
	done
	[ -n "$line" ] || return 0
	say "upward: training area DEMO0001-1 sent (/region), its review: $(printf '%s' "$line" |
		grep -o 'pending.*\|approved.*')"
	curl -sS --cacert "$VAR/pki/ca.crt" --cert "$VAR/pki/term-${TERMINALS[0]}.crt" \
		--key "$VAR/pki/term-${TERMINALS[0]}.key" -d '{"inscode":"DEMO0001","seq":"1"}' \
		"https://localhost:$PSIM_PORT/_review" >/dev/null
	say "the supervisor approved the training area; the platform's notice: $(curl -sS \
		--cacert "$VAR/pki/ca.crt" --cert "$VAR/pki/term-${TERMINALS[0]}.crt" \
		--key "$VAR/pki/term-${TERMINALS[0]}.key" \
		-d '{"reviewtype":"1","data":{"inscode":"DEMO0001","seq":"1"}}' \
		"https://localhost:$((PORT + 4))/reviewmsg")"
	for _ in $(seq 20); do
		line=$(build/hoursctl -d "$CONNINFO" push upward --state done 2>/dev/null |
			awk '$2 == "region" {print; exit}')
		case $line in *approved*) break ;; esac
		sleep 1
	done
	say "upward: training area DEMO0001-1, its review: $(printf '%s' "$line" |
		grep -o 'pending.*\|approved.*') (hoursctl push upward)"
}

quiet build/hoursctl -d "$CONNINFO" migrate --dir sql
for t in "${TERMINALS[0]}" "${TERMINALS[2]}"; do
	quiet build/hoursctl -d "$CONNINFO" terminal add "$t" --cert "$VAR/pki/term-$t.crt"
done
# The timing terminal: its PKCS#12 (pki.sh, password 123456) is what the
# registration answer hands it; its school's code is the institution number.
quiet build/hoursctl -d "$CONNINFO" school add DEMO0001 "Demo driving school" --district demo-east
if [ "$DEMO_PUSH" = national ]; then
	# The school's electronic seal (esignature of the stage hours), a PKCS#12 of its own.
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$VAR/national/seal.key" \
		-out "$VAR/national/seal.crt" -subj "/CN=Demo driving school seal" -days 365 2>/dev/null
	printf 'demo-seal\n' >"$VAR/national/seal.pass"
	quiet openssl pkcs12 -export -inkey "$VAR/national/seal.key" -in "$VAR/national/seal.crt" \
		-out "$VAR/national/seal.p12" -passout pass:demo-seal
	quiet build/hoursctl -d "$CONNINFO" school seal DEMO0001 --p12 "$VAR/national/seal.p12" \
		--pass-file "$VAR/national/seal.pass"
fi
# Logins for the supervisors (docs/audit.md, "Roles"): psql "$CONNINFO user=demo_auditor".
quiet build/hoursctl -d "$CONNINFO" role add auditor demo_auditor
quiet build/hoursctl -d "$CONNINFO" role add district-auditor demo_east --district demo-east
quiet build/hoursctl -d "$CONNINFO" role add liaison demo_liaison
quiet build/hoursctl -d "$CONNINFO" terminal add "${TERMINALS[1]}" --p12 "$VAR/pki/term-${TERMINALS[1]}.p12" \
	--p12-pass 123456 --terminal-no "3100000000000002" --imei 861380000000002
quiet build/hoursctl -d "$CONNINFO" terminal assign "${TERMINALS[1]}" DEMO0001
quiet build/hoursctl -d "$CONNINFO" terminal assign "${TERMINALS[2]}" DEMO0001
# The school's approved site: the sample field, whose hole the off-site lesson crosses.
quiet build/hoursctl -d "$CONNINFO" site import DEMO0001 "demo field" conf/site-sample.geojson

# Numbers unique to this run, so that a second run's lesson is a new one.
stamp=$(printf '%015d' "$(date +%s)")
# Record numbers are the terminal's number, the date and a 4-digit sequence: each
# run of the day takes its 60 records from its own block of 100 (by the minute of
# the day), so that a second run is not taken for the first one's records sent again.
seq=$((1 + 100 * ($(date -u +%s) / 60 % 99)))

# Enrolment and scheduling (docs/students.md): the lesson's student, enrolled
# today and scheduled from now on, and a legacy student pre-entered on the
# police platform before the cut-off (rules.legacy_cutoff, 2023-05-25).
today=$(date -u -d '+8 hours' +%F)
quiet build/hoursctl -d "$CONNINFO" student add "S$stamp" --school DEMO0001 --class C1 --enrolled "$today"
quiet build/hoursctl -d "$CONNINFO" schedule add "S$stamp" --coach "C$stamp" --vehicle "沪A00001" \
	--from "$(date -u -d '+7 hours' '+%F %H:%M')" --to "$(date -u -d '+10 hours' '+%F %H:%M')"
quiet build/hoursctl -d "$CONNINFO" student add "L$stamp" --school DEMO0001 --class C1 \
	--enrolled 2022-09-01 --legacy 2023-01-10
# The registry (docs/registry.md): the school's coaches of the lessons below, and
# its training vehicles with the timing terminals bound to them; every login is
# checked against it (the coach X$stamp below is not registered: refused).
for c in C G K; do
	build/hoursctl -d "$CONNINFO" coach add "$c$stamp" --school DEMO0001 --name "demo coach $c" \
		--teach "C1 C2" --hired 2024-03-01 >/dev/null
done
build/hoursctl -d "$CONNINFO" vehicle add 沪A00001 --school DEMO0001 --class C1 --color 黄 \
	--make 大众 --model 捷达 --terminal "${TERMINALS[1]}"
build/hoursctl -d "$CONNINFO" vehicle add 沪A00003 --school DEMO0001 --class C1 --color 黄 \
	--terminal "${TERMINALS[2]}"
build/hoursctl -d "$CONNINFO" coach list --school DEMO0001

say "set up ($LOG/setup.log): the schema, terminals ${TERMINALS[*]}, school DEMO0001 and its site,"
say "  three supervisor logins, students S$stamp (scheduled now) and L$stamp (legacy)"

# In a session of its own: Ctrl-C reaches the group, and hoursd must get
# exactly one signal from stop(), or its drain would be cut short.
setsid build/hoursd -c "$VAR/hoursd.yaml" 2>"$LOG/hoursd.log" &
hoursd=$!
# Up when its admin listener answers (a probe of the TLS port would be logged
# as a failed handshake).
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$((PORT + 1))") 2>/dev/null && break
	alive "$hoursd" || {
		tail -n 5 "$LOG/hoursd.log" >&2 # why
		exit 1
	}
	sleep 0.1
done
say "hoursd is up on 127.0.0.1:$PORT (TLS) and :$PLAIN_PORT (plain TCP), its log in $LOG/hoursd.log;"
say "  demo terminals connect now (Ctrl-C stops everything); meanwhile, in another terminal:"
say "  build/hoursctl -c var/hoursd.yaml push list (or audit verify: docs/audit.md)"
# Terminal 1: TLS with the 2013 header and the auth code, a position a second.
build/termsim --tls --layout 2013 --host 127.0.0.1 --port "$PORT" --ca "$VAR/pki/ca.crt" \
	--cert "$VAR/pki/term-${TERMINALS[0]}.crt" --key "$VAR/pki/term-${TERMINALS[0]}.key" \
	--phone "${TERMINALS[0]}" --loop --rate 1 >"$LOG/positions.log" 2>&1 &
pids+=($!)
say "terminal ${TERMINALS[0]} (TLS, 2013 header): a position a second ($LOG/positions.log)"
# Terminal 2: a real timing terminal (termsim's default): plain TCP, registration
# (its PKCS#12 arrives in pieces), signed authentication, signed lessons; and
# terminal 3 (TLS, 2013 header, its TLS key signs), one lesson.  One after the
# other, in the order of their times, a second apart (a timing authentication's
# timestamp must be newer than the last one taken):
#  - terminal 2, off-site: part 2 (on the site) from 100 minutes ago, whose route
#    crosses the site's hole: 10 of its 30 minutes outside (refused: termsim says
#    so and exits 1, as it should);
#  - terminal 3, shortened: part 3, 5 records from 70 minutes ago, the lesson
#    left open; 5 more 20 minutes later on a new connection (the lesson goes on:
#    the session is still open), the logout: 25 minutes between login and logout,
#    10 records.  Alone on its terminal, so that a second run's lesson is the
#    newest there (a reconnecting terminal's lesson is its newest login);
#  - terminal 2, a coach the registry does not have: the coach login refused
#    (coach_not_registered), and so the lesson with it;
#  - terminal 2, the demo lesson: part 3, 30 records, one a second.
lessons() {
	local child= now t3
	trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null; exit 0' TERM
	now=$(date +%s)
	t3=(--tls --layout 2013 --port "$PORT" --ca "$VAR/pki/ca.crt" --phone "${TERMINALS[2]}"
		--cert "$VAR/pki/term-${TERMINALS[2]}.crt" --key "$VAR/pki/term-${TERMINALS[2]}.key")
	one() { # NAME WHAT ARGS...: a lesson, its output in var/log/lesson-NAME.log, a line said
		local name=$1 what=$2 rc=0
		shift 2
		sleep 1
		build/termsim --host 127.0.0.1 "$@" >"$LOG/lesson-$name.log" 2>&1 &
		child=$!
		wait "$child" || rc=$?
		child=
		say "lesson $name: $what, termsim exit $rc ($LOG/lesson-$name.log)"
	}
	one off-site "terminal ${TERMINALS[1]}, part 2, 10 of 30 minutes off the site: refused, exit 1 expected" \
		--port "$PLAIN_PORT" --phone "${TERMINALS[1]}" --imei 861380000000002 \
		--lesson 30 --rate 10 --course 1212010000 --student "F$stamp" --coach "G$stamp" \
		--record-start $((now - 6000)) --record-seq "$seq"
	one short-1 "terminal ${TERMINALS[2]}, part 3, 5 records, the lesson left open" \
		"${t3[@]}" --lesson 5 --rate 10 --course 1213010000 --student "H$stamp" \
		--coach "K$stamp" --record-start $((now - 4200)) --record-seq "$seq" --no-logout
	one short-2 "terminal ${TERMINALS[2]}, 5 more records 20 minutes later, then the logout" \
		"${t3[@]}" --lesson 5 --rate 10 --course 1213010000 --student "H$stamp" \
		--coach "K$stamp" --record-start $((now - 3000)) --record-seq $((seq + 5)) --no-login
	one refused "terminal ${TERMINALS[1]}, a coach not in the registry: the login refused (coach_not_registered), exit 1 expected" \
		--port "$PLAIN_PORT" --phone "${TERMINALS[1]}" --imei 861380000000002 \
		--lesson 1 --rate 10 --course 1213010000 --student "R$stamp" --coach "X$stamp" \
		--record-seq $((seq + 60))
	say "  $(grep login_result "$LOG/lesson-refused.log" | tr '\n' ' ')"
	one demo "terminal ${TERMINALS[1]} (plain TCP, timing), part 3 for S$stamp, 30 records and a photo" \
		--port "$PLAIN_PORT" --phone "${TERMINALS[1]}" --imei 861380000000002 \
		--lesson 30 --rate 1 --course 1213010000 --student "S$stamp" --coach "C$stamp" \
		--record-seq $((seq + 30)) --photo-file tests/fixtures/student-photo.jpg
}
lessons &
lesson=$!
if [ "$DEMO_PUSH" = national ]; then
	{
		book_demo "S$stamp" 3 &
		book_demo "L$stamp" 1 &
		upward_demo "C$stamp" 沪A00001 &
		lesson_log_demo &
		region_demo &
		wait
	} &
	booker=$!
fi
# The police platform asks before it pre-enters each student (mutual TLS with a
# certificate of readiness.ca): the scheduled one is ready, the legacy one not.
for s in "S$stamp" "L$stamp"; do
	a=$(build/policesim pre-enter --hoursd "127.0.0.1:$((PORT + 4))" --ca "$VAR/pki/ca.crt" \
		--cert "$VAR/pki/term-${TERMINALS[0]}.crt" --key "$VAR/pki/term-${TERMINALS[0]}.key" \
		"$s" 2>&1) || true
	printf '%s\n' "$a" >>"$LOG/setup.log"
	say "pre-entry question for $s: $(printf '%s' "$a" | tail -n 1)"
done
# The legacy student's part 1 from a three-party form and its scan (a stand-in
# PDF), once hoursd has published the syllabus the form is checked against;
# a supervisor approves it, and the judge's next batch makes the part's packet.
# Part 1 of C1 is 12 hours, half of them in the classroom and half remote: 720
# minutes, or 12 under the national demo's syllabus (a minute counts as an hour).
FORM_HALF=360
[ "$DEMO_PUSH" = national ] && FORM_HALF=6
mkdir -p "$VAR/forms"
printf '%%PDF-1.4\n%% demo scan of form BF-%s\n' "$stamp" >"$VAR/forms/BF-$stamp.pdf"
cat >"$VAR/forms/BF-$stamp.json" <<JSON
{"form_no": "BF-$stamp", "student_no": "L$stamp", "school_code": "DEMO0001", "part": 1,
 "minutes": {"vehicle": 0, "classroom": $FORM_HALF, "simulator": 0, "remote": $FORM_HALF},
 "mileage_km": "0.0", "coach_no": "C$stamp", "trained_from": "2023-02-01", "trained_to": "2023-04-28",
 "student_signature": {"by": "demo student", "at": "2023-04-29 10:00"},
 "coach_signature": {"by": "demo coach", "at": "2023-04-29 10:05"},
 "school_seal": {"by": "Demo driving school", "at": "2023-04-30 09:00"},
 "entered_by": "demo clerk", "scan": "BF-$stamp.pdf"}
JSON
for _ in $(seq 50); do
	build/hoursctl -d "$CONNINFO" backfill import "$VAR/forms/BF-$stamp.json" >>"$LOG/setup.log" 2>&1 &&
		break
	sleep 0.1
done
build/hoursctl -d "$CONNINFO" backfill approve "BF-$stamp" --by "demo supervisor" \
	--note "checked against the paper form" >>"$LOG/setup.log" 2>&1 &&
	say "back-fill: form BF-$stamp of L$stamp imported and approved (hoursctl backfill show BF-$stamp)"
# Runs until Ctrl-C, or until hoursd or the position terminal stops.
wait -n "$hoursd" "${pids[@]}" || true
alive "$hoursd" || {
	tail -n 5 "$LOG/hoursd.log" >&2 # why
	exit 1
}
