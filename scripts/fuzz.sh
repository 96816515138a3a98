#!/usr/bin/env bash
# scripts/fuzz.sh - `make fuzz` (and its short run in `make check`): each libFuzzer
# harness of fuzz/ (built in build/fuzz by `make fuzz-build`) for FUZZ_SECONDS.
#
#   scripts/fuzz.sh [NAME...]      every harness when no NAME is given
#   FUZZ_SECONDS (60)              per harness; `make check` runs 3
#   FUZZ_JOBS (1)                  libFuzzer -jobs per harness
#
# Each harness first replays the crash fixtures committed in fuzz/regress/NAME/
# (every crash found, kept so that it stays fixed), then fuzzes from its corpus
# build/fuzz/corpus/NAME/, which keeps growing between runs,: seeded by
# build/fuzz/mkseeds from tests/fixtures/ and the frames the library's encoders
# build, and by the sample files of conf/.  Dictionaries: fuzz/jt808.dict for
# the protocol harnesses, fuzz/NAME.dict for the others.  A crash leaves its input in build/fuzz/crashes/NAME/ and the
# run exits 1.  Prints one line a harness: executions, executions/s, coverage
# features and corpus size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
F=build/fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

names=("$@")
if [ ${#names[@]} = 0 ]; then
	for f in fuzz/*.c; do
		n=$(basename "$f" .c)
		[ "$n" = mkseeds ] || names+=("$n")
	done
fi

# The seeds: protocol harnesses from mkseeds, file harnesses from the samples.
seeds=$F/seeds
rm -rf "$seeds"
"$F/mkseeds" tests/fixtures "$seeds" >/dev/null
mkdir -p "$seeds/conf" "$seeds/syllabus" "$seeds/geo"
cp conf/hoursd.yaml "$seeds/conf/sample"
cp conf/syllabus.yaml "$seeds/syllabus/sample"
cp conf/site-sample.geojson "$seeds/geo/sample"
# PROXY headers as HAProxy writes them (v1 text, v2 binary, TCP4 and TCP6), a timing frame after.
mkdir -p "$seeds/proxy"
printf 'PROXY TCP4 10.1.2.3 127.0.0.1 40000 8810\r\n~\x80' >"$seeds/proxy/v1-tcp4"
printf 'PROXY TCP6 2001:db8::1 ::1 40000 8810\r\n' >"$seeds/proxy/v1-tcp6"
printf 'PROXY UNKNOWN\r\n' >"$seeds/proxy/v1-unknown"
printf '\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c\x0a\x01\x02\x03\x7f\0\0\x01\x9c\x40\x22\x6a~' \
	>"$seeds/proxy/v2-tcp4"
printf '\r\n\r\n\0\r\nQUIT\n\x20\0\0\0' >"$seeds/proxy/v2-local"
# The imports of hoursctl (a selector byte, then the file): students, slots, a form.
mkdir -p "$seeds/imports"
printf '\0student_no,school,class,enrolled_on,id_card,legacy,pre_entered_on\r\n%s\n%s\n' \
	'S000000000000001,S001,C1,2026-11-01,11010519491231002X,no,' \
	'"S000000000000002",S001,C1,2022-09-01,,yes,2023-01-10' >"$seeds/imports/students"
printf '\1student_no,coach_no,plate,starts_at,ends_at\n%s\n' \
	'S000000000000001,C000000000000001,沪A12345,2026-11-30 08:00,2026-11-30 10:00' \
	>"$seeds/imports/slots"
printf '\2{"form_no": "BF-1", "student_no": "S000000000000002", "school_code": "S001", "part": 1,
 "minutes": {"vehicle": 0, "classroom": 360, "simulator": 0, "remote": 360}, "mileage_km": "0.0",
 "coach_no": "C000000000000001", "trained_from": "2023-02-01", "trained_to": "2023-04-28",
 "student_signature": {"by": "s", "at": "2023-04-29 10:00"},
 "coach_signature": {"by": "c", "at": "2023-04-29 10:05"},
 "school_seal": {"by": "school", "at": "2023-04-30 09:00"}, "entered_by": "clerk"}' \
	>"$seeds/imports/form-json"
printf '\3%s\n%s\n' 'form_no,student_no,school_code,part,vehicle_minutes,classroom_minutes,simulator_minutes,remote_minutes,mileage_km,coach_no,trained_from,trained_to,student_signed_by,student_signed_at,coach_signed_by,coach_signed_at,sealed_by,sealed_at,entered_by,scan' \
	'BF-2,S000000000000002,S001,2,600,0,0,0,12.5,C000000000000001,2023-01-15,2023-04-20,张三,2023-04-21 10:00,李四,2023-04-21 10:05,school,2023-04-22 09:00,clerk,' \
	>"$seeds/imports/form-csv"

failed=0
printf '%-12s %10s %9s %8s %7s\n' harness execs execs/s features corpus
for n in "${names[@]}"; do
	bin=$F/$n
	[ -x "$bin" ] || { echo "$n: no $bin (make fuzz-build)"; failed=1; continue; }
	corpus=$F/corpus/$n crashes=$F/crashes/$n log=$F/$n.log
	mkdir -p "$corpus" "$crashes"
	dict=()
	case $n in stream | frame | body | jtx | reasm | lesson) d=fuzz/jt808.dict ;; *) d=fuzz/$n.dict ;; esac
	[ -f "$d" ] && dict=("-dict=$d")
	# the crashes found before: each must pass now
	if [ -d "fuzz/regress/$n" ] && [ -n "$(ls -A "fuzz/regress/$n")" ]; then
		if ! "$bin" -runs=0 "fuzz/regress/$n"/* >"$log" 2>&1; then
			echo "$n: a fixed crash of fuzz/regress/$n/ is back; see $log"
			failed=1
			continue
		fi
	fi
	[ -d "$seeds/$n" ] || mkdir -p "$seeds/$n"
	par=()
	# (-jobs=1 would still fork a worker logging to ./fuzz-0.log)
	[ "$JOBS" -gt 1 ] && par=(-jobs="$JOBS" -workers="$JOBS")
	if ! "$bin" "${dict[@]}" "${par[@]}" -max_total_time="$SECS" \
		-print_final_stats=1 -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$crashes/" "$corpus" "$seeds/$n" >"$log" 2>&1; then
		echo "$n: CRASH, input kept in $crashes/; see $log"
		grep -m 3 -E 'ERROR|invariant broken|runtime error' "$log" || true
		failed=1
		continue
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	printf '%-12s %10s %9s %8s %7s\n' "$n" "${execs:-?}" "${rate:-?}" "${ft:-?}" \
		"$(find "$corpus" -type f | wc -l)"
done
[ "$failed" = 0 ] || { echo "fuzz: FAILED"; exit 1; }
echo "fuzz: no crash in ${#names[@]} harnesses, ${SECS} s each"
