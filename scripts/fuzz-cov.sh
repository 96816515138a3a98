#!/usr/bin/env bash
# scripts/fuzz-cov.sh - `make fuzz-cov`: the line coverage of src/jt808.c, src/jtx.c
# and src/sig.c that each harness reaches by running its corpus once (build/fuzz/
# corpus/NAME/ as `make fuzz` left it, and the seeds and fuzz/regress/NAME/), with
# the coverage build of build/fuzzcov (clang -fprofile-instr-generate
# -fcoverage-mapping, llvm-profdata-14 and llvm-cov-14).  Then the same for all the
# harnesses together.  Prints a table: harness, then lines covered % of each file.
#   scripts/fuzz-cov.sh [NAME...]   FUZZ_COV_DETAIL=1 also writes
#   build/fuzzcov/NAME.txt, the annotated source of the three files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FC=build/fuzzcov
PROFDATA=${LLVM_PROFDATA:-llvm-profdata-14}
COV=${LLVM_COV:-llvm-cov-14}
FILES=(src/jt808.c src/jtx.c src/sig.c)

names=("$@")
if [ ${#names[@]} = 0 ]; then
	for f in fuzz/*.c; do
		n=$(basename "$f" .c)
		[ "$n" = mkseeds ] || names+=("$n")
	done
fi
[ -d build/fuzz/seeds ] || FUZZ_SECONDS=1 scripts/fuzz.sh >/dev/null

# Lines covered, in %, of each FILE in BIN's profile ("-": BIN does not link it).
pct() { # BIN PROFDATA FILE...
	local bin=$1 prof=$2
	shift 2
	"$COV" export -summary-only "$bin" -instr-profile="$prof" 2>/dev/null |
		python3 -c '
import json, sys
files = {f["filename"]: f["summary"]["lines"] for f in json.load(sys.stdin)["data"][0]["files"]}
def cov(want):
    for name, l in files.items():
        if name.endswith("/" + want) or name == want:
            return "%.1f%%" % l["percent"] if l["count"] else "-"
    return "-"
print(" ".join(cov(w) for w in sys.argv[1:]))' "$@"
}
# The file a harness of the operator's files is about.
own_file() {
	case $1 in
	conf | syllabus | geo | push_answer | lesson) echo "src/$1.c" ;;
	*) echo "-" ;;
	esac
}

printf '%-12s %8s %8s %8s %7s  %s\n' harness jt808.c jtx.c sig.c inputs 'its own file'
all=()
for n in "${names[@]}"; do
	bin=$FC/$n
	[ -x "$bin" ] || { echo "$n: no $bin (make fuzz-cov builds it)"; exit 1; }
	dirs=()
	for d in build/fuzz/corpus/$n build/fuzz/seeds/$n fuzz/regress/$n; do
		[ -d "$d" ] && [ -n "$(ls -A "$d")" ] && dirs+=("$d")
	done
	raw=$FC/$n.profraw
	rm -f "$raw"
	inputs=0
	if [ ${#dirs[@]} -gt 0 ]; then
		inputs=$(find "${dirs[@]}" -type f | wc -l)
		LLVM_PROFILE_FILE=$raw "$bin" -runs=0 "${dirs[@]}" >"$FC/$n.log" 2>&1 || true
	fi
	[ -f "$raw" ] || { echo "$n: no profile written; see $FC/$n.log"; continue; }
	"$PROFDATA" merge -sparse "$raw" -o "$FC/$n.profdata"
	all+=("$FC/$n.profdata")
	read -r -a row <<<"$(pct "$bin" "$FC/$n.profdata" "${FILES[@]}")"
	own=$(own_file "$n")
	[ "$own" = - ] || own="$own $(pct "$bin" "$FC/$n.profdata" "$own")"
	printf '%-12s %8s %8s %8s %7s  %s\n' "$n" "${row[@]}" "$inputs" "${own#-}"
	if [ -n "${FUZZ_COV_DETAIL:-}" ]; then
		"$COV" show "$bin" -instr-profile="$FC/$n.profdata" "${FILES[@]}" >"$FC/$n.txt"
	fi
done
# All together: the profiles merged, over the binaries of the harnesses that link
# the three files (each harness links what it uses of the library).
if [ ${#all[@]} -gt 1 ]; then
	"$PROFDATA" merge -sparse "${all[@]}" -o "$FC/all.profdata"
	row=()
	for f in "${FILES[@]}"; do
		best=-
		for n in "${names[@]}"; do
			v=$(pct "$FC/$n" "$FC/all.profdata" "$f")
			[ "$v" != - ] && { best=$v; break; }
		done
		row+=("$best")
	done
	printf '%-12s %8s %8s %8s\n' all "${row[@]}"
fi
