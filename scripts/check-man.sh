#!/usr/bin/env bash
# scripts/check-man.sh - the man pages (man/) in step with the programs:
# every key of `hoursd --config-keys` is an item of hoursd.yaml.5, every
# command of `hoursctl --help` an item of hoursctl.8 and each of its
# options there, every option of `hoursd --help` in hoursd.8.  Fails naming
# what is missing.  Also mandoc -Tlint when mandoc is installed.
# Usage: scripts/check-man.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${1:-build}
missing=0
miss() { echo "check-man: $1 is missing from $2"; missing=1; }

# Items of a page: the words after ".It Cm" up to the first other macro,
# with "a | b" as the help writes it, "a|b".
items() {
	sed -n 's/^\.It Cm //p' "$1" | sed -E 's/ (Ar|Op|Oo|Fl|Cm|Pq) .*//; s/ \| /|/g'
}

keys=$(items man/hoursd.yaml.5)
for k in $("$bin/hoursd" --config-keys | cut -d' ' -f1); do
	grep -qxF "$k" <<<"$keys" || miss "configuration key $k" man/hoursd.yaml.5
done

cmds=$(items man/hoursctl.8)
help=$("$bin/hoursctl" --help)
while read -r w1 w2 _; do
	c=$w1
	[[ $w2 =~ ^[a-z][a-z|-]*$ ]] && c="$w1 $w2"
	grep -qxF "$c" <<<"$cmds" || miss "hoursctl command \"$c\"" man/hoursctl.8
done < <(sed -n '/^Commands:/,$p' <<<"$help" | grep -E '^  [a-z]')
for o in $(sed -n '/^Commands:/,$p' <<<"$help" | grep -oE '(^|[ [(|])--[a-z0-9-]+' | tr -d ' [(|' | sort -u); do
	grep -qE "Fl -${o#--}( |$)" man/hoursctl.8 || miss "hoursctl option $o" man/hoursctl.8
done

for o in $("$bin/hoursd" --help | grep -oE '(^|[ [(|,])--?[a-z][a-z-]*' | tr -d ' [(|,' | sort -u); do
	grep -qE "Fl ${o#-}( |$)" man/hoursd.8 || miss "hoursd option $o" man/hoursd.8
done

if command -v mandoc >/dev/null; then
	# STYLE messages about pages not installed yet are expected.
	out=$(mandoc -Tlint man/*.[0-9] 2>&1 | grep -vE 'referenced manual not found|mandoc\.db' || true)
	[ -z "$out" ] || { echo "check-man: mandoc -Tlint:"; echo "$out"; missing=1; }
else
	echo "check-man: mandoc is not installed (scripts/deps.sh installs it): lint skipped"
fi

[ "$missing" = 0 ] || exit 1
echo "== man: hoursd.yaml.5, hoursctl.8, hoursd.8 name every key, command and option"
