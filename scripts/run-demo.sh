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
# records (one a second on an accelerated clock).  Ctrl-C stops all of it
# (hoursd drains; a second Ctrl-C cuts the drain short) and PostgreSQL; so
# does an exit on an error or a broken stdout (make run | head): the
# cleanup leaves no process behind.  A second run reuses var/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VAR=$ROOT/var
PORT=${HOURSD_PORT:-8808}
PLAIN_PORT=$((PORT + 2)) # the admin listener has PORT + 1 (8809)
TERMINALS=(013800000001 013800000002 013800000003)

pids=()   # the terminals (termsim)
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
	for p in "${pids[@]}" $lesson; do kill -KILL "$p" 2>/dev/null; done
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
	for p in "${pids[@]}" $lesson; do kill -TERM "$p" 2>/dev/null; done
	[ -z "$hoursd" ] || kill -TERM "$hoursd" 2>/dev/null
	for p in $hoursd "${pids[@]}" $lesson; do reap "$p"; done
	if [ -n "$started" ]; then
		if [ -n "$stamp" ]; then
			say "stopped; positions stored so far:"
			build/hoursctl -d "$CONNINFO" terminal list 2>/dev/null
			say "the demo lesson's student:"
			build/hoursctl -d "$CONNINFO" explain "S$stamp" 2>/dev/null
			say "the tamper evidence (docs/audit.md):"
			build/hoursctl -c "$VAR/hoursd.yaml" audit verify 2>/dev/null | tail -4
		fi
		# Not to be cut short by one more Ctrl-C (ignored by pg.sh and pg_ctl too).
		trap '' INT TERM
		scripts/pg.sh stop "$VAR/pg" || {
			say "run-demo.sh: PostgreSQL under var/pg may still run"
			rc=1
		}
	fi
	exit "$rc"
}
trap stop EXIT
trap 'exit 0' INT TERM
trap 'exit 141' PIPE

mkdir -p "$VAR"
scripts/pki.sh "$VAR/pki" "${TERMINALS[@]}" >/dev/null
started=1 # pg.sh may have started it before it fails
scripts/pg.sh start "$VAR/pg"
CONNINFO=$(scripts/pg.sh conninfo "$VAR/pg")

ALLOW_ROOT=false
[ "$(id -u)" = 0 ] && ALLOW_ROOT=true
cat >"$VAR/hoursd.yaml" <<YAML
# Written by scripts/run-demo.sh for \`make run\`; see conf/hoursd.yaml for every key.
listen:
  tls: "127.0.0.1:$PORT"
  plain: "127.0.0.1:$PLAIN_PORT"
tls:
  cert: $VAR/pki/server.crt
  key: $VAR/pki/server.key
  ca: $VAR/pki/ca.crt
database:
  conninfo: "$CONNINFO"
admin:
  listen: "127.0.0.1:$((PORT + 1))"
log:
  level: info
process:
  allow_root: $ALLOW_ROOT
rules:
  syllabus: $ROOT/conf/syllabus.yaml
audit:
  checkpoint_key: $VAR/pki/checkpoint.key
  checkpoint_interval_s: 10
YAML

build/hoursctl -d "$CONNINFO" migrate --dir sql
for t in "${TERMINALS[0]}" "${TERMINALS[2]}"; do
	build/hoursctl -d "$CONNINFO" terminal add "$t" --cert "$VAR/pki/term-$t.crt"
done
# The timing terminal: its PKCS#12 (pki.sh, password 123456) is what the
# registration answer hands it; its school's code is the institution number.
build/hoursctl -d "$CONNINFO" school add DEMO0001 "Demo driving school" --district demo-east
# Logins for the supervisors (docs/audit.md, "Roles"): psql "$CONNINFO user=demo_auditor".
build/hoursctl -d "$CONNINFO" role add auditor demo_auditor
build/hoursctl -d "$CONNINFO" role add district-auditor demo_east --district demo-east
build/hoursctl -d "$CONNINFO" role add liaison demo_liaison
build/hoursctl -d "$CONNINFO" terminal add "${TERMINALS[1]}" --p12 "$VAR/pki/term-${TERMINALS[1]}.p12" \
	--p12-pass 123456 --terminal-no "3100000000000002" --imei 861380000000002
build/hoursctl -d "$CONNINFO" terminal assign "${TERMINALS[1]}" DEMO0001

# Numbers unique to this run, so that a second run's lesson is a new one.
stamp=$(printf '%015d' "$(date +%s)")
# Record numbers are the terminal's number, the date and a 4-digit sequence: each
# run of the day starts its 30 records at its own place (by the minute of the day),
# so that a second run is not taken for the first one's records sent again.
seq=$((1 + 30 * ($(date -u +%s) / 60 % 300)))

# In a session of its own: Ctrl-C reaches the group, and hoursd must get
# exactly one signal from stop(), or its drain would be cut short.
setsid build/hoursd -c "$VAR/hoursd.yaml" &
hoursd=$!
# Up when its admin listener answers (a probe of the TLS port would be logged
# as a failed handshake).
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$((PORT + 1))") 2>/dev/null && break
	alive "$hoursd" || exit 1 # it said why
	sleep 0.1
done
echo "hoursd is up on 127.0.0.1:$PORT (TLS) and :$PLAIN_PORT (plain TCP); demo terminals connect now (Ctrl-C stops everything)"
echo "meanwhile, in another terminal: build/hoursctl -c var/hoursd.yaml audit verify (docs/audit.md)"
# Terminal 1: TLS with the 2013 header and the auth code, a position a second.
build/termsim --tls --layout 2013 --host 127.0.0.1 --port "$PORT" --ca "$VAR/pki/ca.crt" \
	--cert "$VAR/pki/term-${TERMINALS[0]}.crt" --key "$VAR/pki/term-${TERMINALS[0]}.key" \
	--phone "${TERMINALS[0]}" --loop --rate 1 &
pids+=($!)
# Terminal 2: a real timing terminal (termsim's default): plain TCP, registration
# (its PKCS#12 arrives in pieces), signed authentication, a signed lesson.
build/termsim --host 127.0.0.1 --port "$PLAIN_PORT" --phone "${TERMINALS[1]}" \
	--imei 861380000000002 --lesson 30 --rate 1 --course 1213010000 \
	--student "S$stamp" --coach "C$stamp" --record-seq "$seq" &
lesson=$!
# Runs until Ctrl-C, or until hoursd or the position terminal stops.
wait -n "$hoursd" "${pids[@]}" || true
alive "$hoursd" || exit 1 # it said why
