#!/usr/bin/env bash
# tests/policesim_smoke.sh - policesim against curl and openssl: accepted,
# duplicate, bad signature, every fault, /_stats, a clean exit.
#
# Usage: tests/policesim_smoke.sh [POLICESIM]   (default build/policesim;
# build/san/policesim for an ASan run).  Needs curl, jq, openssl.
set -euo pipefail

BIN=${1:-build/policesim}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
PID=
cleanup() {
	[[ -n $PID ]] && kill -TERM "$PID" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	sed 's/^/  policesim: /' "$W/log" >&2 || true
	exit 1
}

"$ROOT/scripts/pki.sh" "$W/pki" 013800000001 2>/dev/null
P=$W/pki T=013800000001
CURL=(curl -sS -m 5 --cacert "$P/ca.crt" --cert "$P/term-$T.crt" --key "$P/term-$T.key")

"$BIN" --listen 127.0.0.1:0 --cert "$P/server.crt" --key "$P/server.key" \
	--client-ca "$P/ca.crt" --verify-cert "$P/sign-rsa-$T.crt" \
	--verify-cert "$P/sign-sm2-$T.crt" --store "$W/store.jsonl" 2>"$W/log" &
PID=$!
for _ in $(seq 50); do
	PORT=$(sed -n 's/.*policesim listening on .* port \([0-9]*\).*/\1/p' "$W/log")
	[[ -n $PORT ]] && break
	sleep 0.1
done
[[ -n ${PORT:-} ]] || fail "policesim did not start"
URL=https://localhost:$PORT

body() { # packet id -> a canonical body on stdout
	jq -cnS --arg id "$1" '{packet_id:$id,version:1,school_code:"4401000001",
	student_no:"4401000000000001",id_card_sha256:null,vehicle_class:"C1",part:2,subject:2,
	total_minutes:960,vehicle_minutes:840,simulator_minutes:120,classroom_minutes:0,
	remote_minutes:0,mileage_km:"123.4",first_minute:"2026-03-01T08:00:00+08:00",
	last_minute:"2026-03-20T17:59:00+08:00",record_count:0,
	records_sha256:"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	backfilled:false,backfill_form:null,backfilled_minutes:0,created_at:"2026-03-20T18:00:05+08:00"}' | tr -d '\n'
}
# post ID [rsa|sm2] [SIGNED_FILE]: prints "STATUS RESULT" (000 when no answer)
post() {
	local f=$W/b-$1 alg=${2:-rsa} a=RSA-SHA256 opts=()
	body "$1" >"$f"
	[[ $alg == sm2 ]] && a=SM2-SM3 opts=(-sm3 -sigopt distid:1234567812345678)
	[[ $alg == rsa ]] && opts=(-sha256)
	local sig kid
	sig=$(openssl dgst "${opts[@]}" -sign "$P/sign-$alg-$T.key" "${3:-$f}" | base64 -w0)
	kid=$(openssl x509 -in "$P/sign-$alg-$T.crt" -outform DER | sha256sum | cut -c1-64)
	rm -f "$W/ans"
	"${CURL[@]}" -o "$W/ans" -w '%{http_code}' -H "Content-Type: application/json" \
		-H "X-Hoursd-Key-Id: $kid" -H "X-Hoursd-Signature-Alg: $a" \
		-H "X-Hoursd-Signature: $sig" --data-binary @"$f" "$URL/stage-hours" \
		2>/dev/null || true
	echo " $(jq -r '.result // empty' "$W/ans" 2>/dev/null | head -c 20)"
}
expect() { # ID ALG WANT
	local got
	got=$(post "$1" "$2")
	[[ $got == "$3" ]] || fail "packet $1: got '$got', want '$3'"
	echo "ok  $1 $2 -> $3"
}
faults() { "${CURL[@]}" -X POST --data "$1" "$URL/_faults" >/dev/null; }
id() { printf '%08x-0000-4000-8000-000000000000' "$1"; }

expect "$(id 1)" rsa "200 accepted"
expect "$(id 1)" rsa "409 duplicate"
expect "$(id 2)" sm2 "200 accepted"
got=$(post "$(id 3)" rsa "$W/b-$(id 1)")
[[ $got == "401 rejected" ]] || fail "bad signature: got '$got'"
echo "ok  bad signature -> 401"

faults '5xx:1,busy:1,reject:1,reset:1'
expect "$(id 4)" rsa "503 retry"
expect "$(id 4)" rsa "429 retry"
expect "$(id 4)" rsa "422 rejected"
expect "$(id 4)" rsa "000 "
expect "$(id 4)" rsa "200 accepted"
faults 'timeout:1'
CURL[3]=2
expect "$(id 5)" rsa "000 "
CURL[3]=5
expect "$(id 5)" rsa "200 accepted"
faults 'dup:1,lost:1,garbage:1'
expect "$(id 6)" rsa "200 duplicate"
expect "$(id 7)" rsa "000 "
expect "$(id 7)" rsa "409 duplicate"
expect "$(id 8)" rsa "200 "
expect "$(id 8)" rsa "409 duplicate"
faults 'huge:1'
expect "$(id 9)" sm2 "200 accepted"
(($(stat -c %s "$W/ans") > 10000000)) || fail "huge:1 answered $(stat -c %s "$W/ans") bytes"
faults 'slow:700'
t0=$(date +%s%N)
expect "$(id 10)" rsa "200 accepted"
(($(date +%s%N) - t0 >= 700000000)) || fail "slow:700 answered early"
faults ''

stats=$("${CURL[@]}" "$URL/_stats")
want='{"accepted":9,"duplicates":3,"faults_injected":9,"rejected_signature":1,"stored":9}'
got=$(jq -cS '{accepted,duplicates,faults_injected,rejected_signature,stored}' <<<"$stats")
[[ $got == "$want" ]] || fail "stats $got, want $want"
echo "ok  /_stats $got"
[[ $(jq -r .packet_id "$W/store.jsonl" | sort | uniq -d) == "" ]] || fail "a packet stored twice"
[[ $(wc -l <"$W/store.jsonl") == 9 ]] || fail "store has $(wc -l <"$W/store.jsonl") lines"

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
((rc == 0)) || fail "exit status $rc"
! grep -q "ERROR: AddressSanitizer\|LeakSanitizer\|runtime error" "$W/log" || fail "sanitizer report"
echo "ok  SIGTERM -> exit 0"
echo "policesim smoke: all passed"
