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
# records (one a second on an accelerated clock).  Ctrl-C stops all of it; a
# second run reuses it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VAR=$ROOT/var
PORT=${HOURSD_PORT:-8808}
PLAIN_PORT=$((PORT + 2)) # the admin listener has PORT + 1 (8809)
TERMINALS=(013800000001 013800000002 013800000003)

mkdir -p "$VAR"
scripts/pki.sh "$VAR/pki" "${TERMINALS[@]}" >/dev/null
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
log:
  level: info
process:
  allow_root: $ALLOW_ROOT
rules:
  syllabus: $ROOT/conf/syllabus.yaml
YAML

build/hoursctl -d "$CONNINFO" migrate --dir sql
for t in "${TERMINALS[0]}" "${TERMINALS[2]}"; do
	build/hoursctl -d "$CONNINFO" terminal add "$t" --cert "$VAR/pki/term-$t.crt"
done
# The timing terminal: its PKCS#12 (pki.sh, password 123456) is what the
# registration answer hands it; its school's code is the institution number.
build/hoursctl -d "$CONNINFO" school add DEMO0001 "Demo driving school"
build/hoursctl -d "$CONNINFO" terminal add "${TERMINALS[1]}" --p12 "$VAR/pki/term-${TERMINALS[1]}.p12" \
	--p12-pass 123456 --terminal-no "3100000000000002" --imei 861380000000002
build/hoursctl -d "$CONNINFO" terminal assign "${TERMINALS[1]}" DEMO0001

# Numbers unique to this run, so that a second run's lesson is a new one.
stamp=$(printf '%015d' "$(date +%s)")
# Record numbers are the terminal's number, the date and a 4-digit sequence: each
# run of the day starts its 30 records at its own place (by the minute of the day),
# so that a second run is not taken for the first one's records sent again.
seq=$((1 + 30 * ($(date -u +%s) / 60 % 300)))
pids=()
hoursd=
lesson=
stop() {
	trap - INT TERM EXIT
	[ -z "$lesson" ] || kill -TERM "$lesson" 2>/dev/null || true
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "$hoursd" "${pids[@]}" $lesson; do wait "$p" 2>/dev/null || true; done
	echo "stopped; positions stored so far:"
	build/hoursctl -d "$CONNINFO" terminal list 2>/dev/null || true
	echo "the demo lesson's student:"
	build/hoursctl -d "$CONNINFO" explain "S$stamp" 2>/dev/null || true
	scripts/pg.sh stop "$VAR/pg"
}
trap stop INT TERM EXIT

# In a session of its own: Ctrl-C reaches the group, and hoursd must get
# exactly one signal from stop(), or its drain would be cut short.
setsid build/hoursd -c "$VAR/hoursd.yaml" &
hoursd=$!
pids+=("$hoursd")
# Up when its admin listener answers (a probe of the TLS port would be logged
# as a failed handshake).
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/8809") 2>/dev/null && break
	sleep 0.1
done
echo "hoursd is up on 127.0.0.1:$PORT (TLS) and :$PLAIN_PORT (plain TCP); demo terminals connect now (Ctrl-C stops everything)"
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
wait -n "${pids[@]}" || true
