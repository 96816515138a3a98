#!/usr/bin/env bash
# scripts/run-tests.sh - `make check` after the build: every unit suite,
# plain and under ASan+UBSan, then the integration suite against a
# throwaway PostgreSQL cluster, once with the sanitized daemon and once
# with the optimized one; the acceptance clients, each fuzz harness for a
# few seconds and a short fault soak.
#
# TOPIC=NAME scripts/run-tests.sh (after `make all unit-tests`): only the
# integration topic NAME (a tcase of tests/integration/, e.g. daemon,
# push), once, against the optimized build (TOPIC_BIN=build/san: the
# sanitized one): the loop while writing a test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0

for t in build/tests/check_* build/san/tests/check_*; do
	[[ -z ${TOPIC:-} ]] || break
	case $t in *check_integration) continue ;; esac
	echo "== unit: $t"
	"$t" || failed=1
done

work_dir hoursd-test test # kept when a suite failed

scripts/pki.sh "$WORK/pki" 013800000001 013800000002 013800000003 013800000004 013800000005 \
	013800000006 >/dev/null

PG_FAST=1 scripts/pg.sh start "$WORK/pg" >/dev/null
CONNINFO=$(scripts/pg.sh conninfo "$WORK/pg")
build/hoursctl -d "$CONNINFO" migrate --dir sql >/dev/null
for t in 013800000001 013800000004; do
	build/hoursctl -d "$CONNINFO" terminal add "$t" --cert "$WORK/pki/term-$t.crt" >/dev/null
done
# 2 signs with RSA, 5 with SM2; 1 with its TLS key (ECDSA P-256); 3 is not registered
build/hoursctl -d "$CONNINFO" terminal add 013800000002 --cert "$WORK/pki/term-013800000002.crt" \
	--sign-cert "$WORK/pki/sign-rsa-013800000002.crt" >/dev/null
build/hoursctl -d "$CONNINFO" terminal add 013800000005 --cert "$WORK/pki/term-013800000005.crt" \
	--sign-cert "$WORK/pki/sign-sm2-013800000005.crt" >/dev/null
build/hoursctl -d "$CONNINFO" terminal disable 013800000004 >/dev/null
# School S001 has the sample site; terminal 1 belongs to it, the others to no school.
build/hoursctl -d "$CONNINFO" school add S001 "Sample driving school" >/dev/null
build/hoursctl -d "$CONNINFO" site import S001 "sample field" conf/site-sample.geojson >/dev/null
build/hoursctl -d "$CONNINFO" terminal assign 013800000001 S001 >/dev/null
# 6 is a timing terminal on plain TCP: the PKCS#12 (pki.sh: RSA-2048 from the dev
# CA, password 123456) is what its registration hands it.
build/hoursctl -d "$CONNINFO" terminal add 013800000006 --p12 "$WORK/pki/term-013800000006.p12" \
	--p12-pass 123456 --terminal-no 3100000000000006 --imei 861380000000006 >/dev/null
build/hoursctl -d "$CONNINFO" terminal assign 013800000006 S001 >/dev/null

export HOURSD_TEST_PKI=$WORK/pki HOURSD_TEST_PG_DIR=$WORK/pg HOURSD_TEST_WORK=$WORK
export HOURSD_TEST_CONNINFO=${CONNINFO% dbname=*}
if [[ -n ${TOPIC:-} ]]; then
	echo "== integration: topic $TOPIC only"
	CK_RUN_CASE=$TOPIC HOURSD_BIN_DIR=${TOPIC_BIN:-build} build/tests/check_integration || failed=1
	exit $failed
fi
for bin in build/san build; do
	echo "== integration: daemon and termsim from $bin"
	HOURSD_BIN_DIR=$bin build/tests/check_integration || failed=1
done

# What the acceptance sections below share (with lib.sh's free_port,
# start_hoursd and psql): a fresh copy of the template database, the
# configuration of the hoursd they run (sections may be appended), and its
# stop, which must drain within 20 s and exit 0.
template_copy() { # DB
	CI="$HOURSD_TEST_CONNINFO dbname=postgres" psql -c "CREATE DATABASE $1 TEMPLATE hoursd"
}
acceptance_conf() { # FILE CONNINFO TLS_PORT [PLAIN_PORT]
	CONF_LOG_LEVEL=debug write_config "$@"
}
acceptance_stop() { # PID LOG
	kill -TERM "$1"
	for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null && echo "hoursd did not stop within 20 s of SIGTERM"
	wait "$1" || { echo "hoursd exited with $? after SIGTERM; see $2"; return 1; }
}

# Acceptance: a JT/T 808 client that is not ours (tests/jt808_client.py, Python)
# against build/hoursd and a fresh copy of the template, 2013 then 2019 headers,
# then a lesson (--lesson) that drives a student to a met part.
pyclient() {
	local conf=$WORK/pyclient-hoursd.yaml log=$WORK/pyclient-hoursd.log db=hoursd_py
	local port rc=0
	template_copy "$db" || return 1
	port=$(free_port)
	acceptance_conf "$conf" "$HOURSD_TEST_CONNINFO dbname=$db" "$port"
	start_hoursd build/hoursd "$conf" "$log" || return 1
	pyclient_run 013800000001 || rc=1
	pyclient_run 013800000002 --v2019 || rc=1
	# a C1 student from zero to a met part 2 (timing-training extension, signed
	# with terminal 1's TLS key; terminal 1 belongs to S001 and its sample site)
	pyclient_run 013800000001 --lesson || rc=1
	acceptance_stop "$HPID" "$log" || rc=1
	return $rc
}
pyclient_run() { # TERMINAL [client options]: uses port and db of pyclient
	echo "== acceptance: tests/jt808_client.py, terminal $1 ${2:-}"
	python3 tests/jt808_client.py --port "$port" --ca "$WORK/pki/ca.crt" --phone "$1" \
		--cert "$WORK/pki/term-$1.crt" --key "$WORK/pki/term-$1.key" "${@:2}" \
		--start-time 1764000000 --conninfo "$HOURSD_TEST_CONNINFO dbname=$db"
}
pyclient || failed=1

# Acceptance: a national timing (驾培) terminal that is not ours (tests/jtx_client.py,
# Python) on hoursd's plain listener (listen.plain): registration answered with its
# PKCS#12 in pieces (one asked for again with 0x8003), the signed 0x0102 and its
# refusals (tampered, an hour old, replayed), a signed lesson in 0x0900, refused
# registrations, then PostgreSQL. The terminal's RSA key and certificate come from
# the test CA, as the national CA would issue them, in a PKCS#12 that hoursctl stores.
jtx_acceptance() {
	local conf=$WORK/jtx-hoursd.yaml log=$WORK/jtx-hoursd.log db=hoursd_jtx
	local ci="$HOURSD_TEST_CONNINFO dbname=$db" p=$WORK/pki/jtx-013800000011
	local pass=Jtx0p12Pass9 port tport rc=0
	echo "== acceptance: tests/jtx_client.py, timing terminal 013800000011 on plain TCP"
	template_copy "$db" || return 1
	{ openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$p.key" 2>/dev/null &&
		openssl req -new -key "$p.key" -subj /CN=013800000011 |
		openssl x509 -req -CA "$WORK/pki/ca.crt" -CAkey "$WORK/pki/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 30 -out "$p.crt" 2>/dev/null &&
		openssl pkcs12 -export -inkey "$p.key" -in "$p.crt" -out "$p.p12" -passout "pass:$pass"; } ||
		{ echo "could not make the terminal's PKCS#12"; return 1; }
	build/hoursctl -d "$ci" terminal add 013800000011 --p12 "$p.p12" --p12-pass "$pass" \
		--terminal-no 3101150000000011 --imei 860000000000017 >/dev/null || return 1
	build/hoursctl -d "$ci" terminal assign 013800000011 S001 >/dev/null || return 1
	port=$(free_port)
	tport=$(free_port)
	acceptance_conf "$conf" "$ci" "$tport" "$port"
	start_hoursd build/hoursd "$conf" "$log" || return 1
	# a point of the sample site (conf/site-sample.geojson), off its hole
	python3 tests/jtx_client.py --port "$port" --phone 013800000011 --imei 860000000000017 \
		--lat 31230500 --lon 121472000 --records 5 --psql "psql -d '$ci'" || rc=1
	acceptance_stop "$HPID" "$log" || rc=1
	return $rc
}
echo "== tests/jtx_client.py --self-test: the public timing frames through an independent decoder"
python3 tests/jtx_client.py --self-test >"$WORK/jtx-self-test.log" 2>&1 || { cat "$WORK/jtx-self-test.log"; failed=1; }
tail -1 "$WORK/jtx-self-test.log"
jtx_acceptance || failed=1

# Acceptance: the push to the police platform (docs/push-contract.md) received by
# an HTTPS endpoint that is not ours (tests/push_receiver.py, Python): two met parts
# seeded in a fresh copy of the template as the integration suite's push tests seed
# them (seed_packets, tests/integration/harness_psim.c); the platform down, then failing (503 to the first 3 requests), then up; each
# packet stored exactly once with a valid signature, also after hoursd is killed
# (SIGKILL) and restarted.
push_acceptance() {
	local conf=$WORK/push-hoursd.yaml log=$WORK/push-hoursd.log db=hoursd_push
	local rlog=$WORK/push-receiver.log store=$WORK/push-accepted.jsonl
	local CI="$HOURSD_TEST_CONNINFO dbname=$db" port pport rpid attempts rc=0
	echo "== acceptance: tests/push_receiver.py, two met parts pushed once"
	template_copy "$db" || return 1
	psql <<'SQL' || return 1
UPDATE terminal SET terminal_no = '4401000000000017' WHERE phone = '13800000001';
UPDATE terminal SET terminal_no = '4401000000000023' WHERE phone = '13800000002';
INSERT INTO student (school_id, student_no, id_card_sha256, vehicle_class)
SELECT id, 'S000000000000001',
	decode('426695a0efdb59b9eaedaf0b5ca3eddf013cc2a7f9e283437704ea605f421e6d', 'hex'), 'C1'
FROM school WHERE code = 'S001';
INSERT INTO training_record (terminal_id, record_no, record_time, student_no, coach_no,
	class_id, course_code, part, mode, vehicle_class, upload_type, record_status,
	max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict, raw, raw_sha256)
SELECT t.id, r.no, now() - interval '1 day', r.sn, 'C000000000000001', 1, '1213010000', 3,
	1, 'C1', 0, 0, 300, 10, 0, 0, true, 'accepted', '\x00', sha256('\x00')
FROM (VALUES ('13800000001', '00000120', 'S000000000000001'),
	('13800000001', '00000121', 'S000000000000001'),
	('13800000002', '00000007', 'S000000000000001'),
	('13800000001', '00000201', 'S000000000000002')) r(phone, no, sn)
JOIN terminal t ON t.phone = r.phone;
-- Seeded as judged: each minute counts.
INSERT INTO record_judgement (terminal_id, record_no, queued_at)
SELECT terminal_id, record_no, now() FROM training_record;
INSERT INTO progress (student_no, part, vehicle_class, vehicle, mileage_dkm, first_minute,
	last_minute, records)
VALUES ('S000000000000001', 3, 'C1', 3, 1234, '2026-03-01 00:00:00+00',
	'2026-03-20 09:59:00+00', 3),
	('S000000000000002', 3, 'C1', 1, 5, '2026-03-02 00:00:00+00', '2026-03-02 00:00:00+00', 1);
INSERT INTO push_packet (id, student_no, part, vehicle_class, created_at)
SELECT gen_random_uuid(), 'S00000000000000' || k, 3, 'C1', date_trunc('second', now())
FROM generate_series(1, 2) k;
SQL
	port=$(free_port)
	pport=$(free_port)
	acceptance_conf "$conf" "$CI" "$port"
	push_config "$conf" "$pport" 013800000001 013800000002
	# the platform is down: hoursd's first attempts find no one listening
	start_hoursd build/hoursd "$conf" "$log" || return 1
	push_wait "SELECT count(*) >= 2 FROM push_attempt WHERE outcome = 'error'" 15 ||
		{ echo "no failed attempt while the platform was down; see $log"; rc=1; }
	# the platform is up but fails the first 3 requests (503)
	python3 tests/push_receiver.py --listen "127.0.0.1:$pport" --cert "$WORK/pki/server.crt" \
		--key "$WORK/pki/server.key" --client-ca "$WORK/pki/ca.crt" \
		--verify-cert "$WORK/pki/sign-rsa-013800000002.crt" --store "$store" \
		--fail-first 3 2>"$rlog" &
	rpid=$!
	for _ in $(seq 100); do grep -q 'listening on' "$rlog" && break; sleep 0.1; done
	push_wait "SELECT count(*) = 2 FROM push_packet WHERE state = 'done'" 60 ||
		{ echo "the packets were not done within 60 s; see $log and $rlog"; rc=1; }
	# SIGKILL, then a restart: nothing is sent again
	kill -KILL "$HPID"
	wait "$HPID" 2>/dev/null || true
	attempts=$(psql -c "SELECT count(*) FROM push_attempt")
	start_hoursd build/hoursd "$conf" "$log" || rc=1
	sleep 4
	acceptance_stop "$HPID" "$log" || rc=1
	kill -TERM "$rpid"
	wait "$rpid" || { echo "push_receiver exited with $? after SIGTERM; see $rlog"; rc=1; }
	echo "push_attempt by outcome: $(psql -F= -R' ' -c \
		"SELECT outcome || '/' || coalesce(http_status::text, '-'), count(*) FROM push_attempt GROUP BY 1 ORDER BY 1")"
	[ "$(psql -c "SELECT count(*) FROM push_attempt")" = "$attempts" ] ||
		{ echo "hoursd attempted again after the restart"; rc=1; }
	[ "$(psql -c "SELECT count(*) FROM push_attempt WHERE http_status = 503")" = 3 ] ||
		{ echo "not 3 attempts answered 503"; rc=1; }
	[ "$(psql -c "SELECT count(*) FROM push_attempt WHERE outcome = 'accepted'")" = 2 ] ||
		{ echo "not 2 attempts accepted"; rc=1; }
	grep -E 'summary:|checks:' "$rlog" | sed 's/^[^ ]* push_receiver /push_receiver: /'
	grep -q 'checks: [1-9][0-9]* passed, 0 failed' "$rlog" ||
		{ echo "the receiver found requests against the contract; see $rlog"; rc=1; }
	python3 tests/push_receiver.py --verify-store "$store" \
		--verify-cert "$WORK/pki/sign-rsa-013800000002.crt" --expect 2 || rc=1
	return $rc
}
push_wait() { # SQL SECONDS: until SQL (of push_acceptance's database) is true
	for _ in $(seq $(($2 * 10))); do
		[ "$(psql -c "$1")" = t ] && return 0
		sleep 0.1
	done
	return 1
}
push_acceptance || failed=1

# Every fuzz harness a few seconds (a harness that no longer builds or runs, or a
# crash fixed before that is back, fails here), then a short fault soak; make fuzz
# and make soak run them longer (docs/operations.md, "Fuzzing" and "Fault soak").
echo "== fuzz: each harness of fuzz/ for ${CHECK_FUZZ_SECONDS:-3} s (scripts/fuzz.sh)"
FUZZ_SECONDS=${CHECK_FUZZ_SECONDS:-3} scripts/fuzz.sh || failed=1
echo "== soak: a short fault soak (scripts/soak.sh)"
SOAK_SECONDS=${CHECK_SOAK_SECONDS:-40} SOAK_TERMINALS=${CHECK_SOAK_TERMINALS:-6} scripts/soak.sh ||
	failed=1

# The unit as `make install` writes it, with ExecStart pointed at the staged
# binary (and man at the staged pages), checked by systemd-analyze verify: any complaint is a failure (it
# exits 0 on unknown keys and misspelt directives, printing a warning).
unit_verify() {
	local stage=$WORK/stage out
	make -s install DESTDIR="$stage" PREFIX=/usr/local >/dev/null || return 1
	sed "s#/usr/local/sbin/#$stage/usr/local/sbin/#g" \
		"$stage/usr/local/lib/systemd/system/hoursd.service" >"$WORK/hoursd.service"
	# Documentation=man:hoursd(8) is looked up with man: the staged pages.
	out=$(MANPATH=$stage/usr/local/share/man systemd-analyze verify "$WORK/hoursd.service" 2>&1) &&
		[ -z "$out" ] || {
		echo "systemd-analyze verify deploy/hoursd.service (installed): $out"
		return 1
	}
	echo "== systemd-analyze verify: the installed deploy/hoursd.service is clean"
}
unit_verify || failed=1

scripts/check-man.sh || failed=1

echo "== alerts: promtool check rules and test rules of deploy/prometheus/ (scripts/check-prom.sh)"
scripts/check-prom.sh || failed=1

echo "== layers: no call or include loop in the daemon or a tool (scripts/check-layers.py)"
scripts/check-layers.py || failed=1

echo "== docs: the hoursd and hoursctl command lines of README.md and docs/ (scripts/check-docs.py)"
scripts/check-docs.py || failed=1

if [ "$failed" != 0 ]; then
	echo "make check: FAILED"
	exit 1
fi
echo "make check: all suites passed"
