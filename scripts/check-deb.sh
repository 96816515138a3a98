#!/usr/bin/env bash
# scripts/check-deb.sh - build the Debian packages, lint them, install them, try them.
#
# Builds hoursd and hoursd-tools (debian/, dpkg-buildpackage -us -uc -b) in
# a temporary copy of the tree (its tracked and untracked files, not build/
# or var/), so that the working tree is not touched; runs lintian and fails
# on an error (warnings are printed); then, as root, installs both with
# apt-get and does what README.Debian says, nothing more: checks that
# hoursd -t names each file a site must supply, runs hoursd-setup
# --trial-pki against this host's PostgreSQL (a cluster made, or started,
# for the test, and left as found), starts hoursd from the shipped
# /etc/hoursd/hoursd.yaml as the user hoursd, connects the trial terminal
# (termsim over TLS, a lesson) and sees its records stored; then purges the
# packages.  Not root: the install part is
# skipped, saying so.  Run by .ci/run after make check; not part of make
# check, so that a developer's machine needs no packaging tools.
#
# The packaging tools (debhelper, lintian, fakeroot, dpkg-dev) are installed
# here when missing, as root; otherwise the script says what to install.
set -euo pipefail
exec </dev/null
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib.sh

say() { echo "check-deb: $*" >&2; }

TOOLS=(debhelper lintian fakeroot dpkg-dev)
missing=()
for p in "${TOOLS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $st == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	if ((EUID != 0)); then
		say "missing ${missing[*]}; as root run: apt-get install --no-install-recommends ${missing[*]}"
		exit 1
	fi
	say "installing ${missing[*]}"
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Ours to remove at the end: the temporary directory (lib.sh's cleanup; apt-get
# reads the .deb files in it as _apt), and the packages once we have installed them.
work_dir check-deb
tmp=$WORK
installed=0
hpid='' # hoursd, once started: stopped before the purge
# shellcheck disable=SC2317 # run by cleanup
stop_hoursd() {
	[[ -z $hpid ]] || { kill -TERM "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null; } || true
	hpid=
}
# shellcheck disable=SC2317 # run by cleanup
purge() {
	stop_hoursd
	if ((installed)); then
		apt-get purge -y -q hoursd hoursd-tools >/dev/null || say "purge failed"
	fi
}
on_exit purge

say "copying the tree to $tmp/hoursd"
mkdir "$tmp/hoursd"
git ls-files -z --cached --others --exclude-standard |
	tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$tmp/hoursd"
[[ -f $tmp/hoursd/debian/control ]] || {
	say "FAIL: no debian/control in the copy (is this a git checkout git will read?)"
	exit 1
}

say "dpkg-buildpackage -us -uc -b"
if ! (cd "$tmp/hoursd" &&
	DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
		dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	say "FAIL: dpkg-buildpackage (last lines above)"
	exit 1
fi
debs=("$tmp"/hoursd_*.deb "$tmp"/hoursd-tools_*.deb)
for d in "${debs[@]}"; do
	[[ -f $d ]] || {
		say "FAIL: no $d"
		exit 1
	}
done

say "lintian"
# lintian warns when run as root; that line is noise.
lintian_status=0
lintian --fail-on error "$tmp"/hoursd_*.changes >"$tmp/lintian.log" 2>&1 || lintian_status=$?
grep -v 'running with root privileges' "$tmp/lintian.log" >&2 || true
if ((lintian_status)); then
	say "FAIL: lintian reports errors"
	exit 1
fi

if ((EUID != 0)); then
	say "not root: built and linted; skipping the install test (apt-get install needs root)"
	exit 0
fi
for p in hoursd hoursd-tools; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [[ $st == *" installed" ]]; then
		say "$p is already installed here: skipping the install test rather than replacing it"
		exit 0
	fi
done

say "apt-get install ${debs[*]##*/}"
installed=1
apt-get install -y -q --no-install-recommends "${debs[@]}" >"$tmp/apt.log" 2>&1 || {
	cat "$tmp/apt.log" >&2
	say "FAIL: apt-get install"
	exit 1
}

fail=0
check() {
	local what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		say "ok: $what"
	else
		cat "$tmp/out" >&2
		say "FAIL: $what"
		fail=1
	fi
}
check "/usr/sbin/hoursd --version, /usr/bin/hoursctl --version" \
	bash -c '/usr/sbin/hoursd --version && /usr/bin/hoursctl --version'
check "conffiles /etc/hoursd/{hoursd,syllabus}.yaml" bash -c \
	"dpkg-query -W -f='\${Conffiles}' hoursd | grep -q '/etc/hoursd/hoursd.yaml ' &&
	 dpkg-query -W -f='\${Conffiles}' hoursd | grep -q '/etc/hoursd/syllabus.yaml '"
check "user hoursd" getent passwd hoursd
check "the unit's Documentation=: man:hoursd(8) and a file that exists" bash -c \
	'd=$(sed -n "s|^Documentation=||p" /lib/systemd/system/hoursd.service) &&
	 [[ " $d " == *" man:hoursd(8) "* ]] && f=${d##*file:} && test -f "${f%% *}"'
check "unit, migrations, rules, dashboard, README.Debian, man pages, tools" test \
	-f /lib/systemd/system/hoursd.service -a -f /usr/share/hoursd/sql/001_init.sql \
	-a -f /usr/share/hoursd/prometheus/hoursd-rules.yml \
	-a -f /usr/share/hoursd/grafana/hoursd.json \
	-a -f /usr/share/man/man8/hoursd.8.gz -a -f /usr/share/man/man8/hoursd-setup.8.gz \
	-a -f /usr/share/man/man1/termsim.1.gz -a -x /usr/lib/hoursd/termsim -a -x /usr/lib/hoursd/policesim
check "README.Debian" bash -c 'ls /usr/share/doc/hoursd/README.Debian*'
check "installed man pages name real paths (no SYSCONFDIR, DATADIR, TOOLDIR)" bash -c \
	'! zgrep -lE "(SYSCONFDIR|DATADIR|TOOLDIR)/" /usr/share/man/man*/hoursd* /usr/share/man/man*/termsim* /usr/share/man/man*/hoursctl*'
# Before the setup: the shipped file refused, each missing file on a line naming
# what makes it.
check "hoursd -t before the setup: a line for each missing file" bash -c \
	'out=$(runuser -u hoursd -- /usr/sbin/hoursd -t -c /etc/hoursd/hoursd.yaml 2>&1); rc=$?
	 echo "$out"; [ $rc = 1 ] && [ "$(grep -c "hoursd-setup" <<<"$out")" = 4 ]'

# A PostgreSQL for the setup, as README.Debian has it (apt-get install
# postgresql): the newest cluster of this host, started when it is down
# (and stopped again), or one made for the test (and dropped again).
pg_ver=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1 | cut -d/ -f5)
pg_cluster='' pg_made=0 pg_started=0 pg_roles_before='' pg_ours=0
cluster_line=$(pg_lsclusters -h 2>/dev/null | awk -v v="$pg_ver" '$1 == v' | head -n 1 || true)
if [[ -z $cluster_line ]]; then
	pg_cluster=hoursdcheck
	pg_createcluster "$pg_ver" "$pg_cluster" >/dev/null
	pg_made=1
	cluster_line=$(pg_lsclusters -h | awk -v v="$pg_ver" -v c="$pg_cluster" '$1 == v && $2 == c')
fi
pg_cluster=$(awk '{print $2}' <<<"$cluster_line")
pg_port=$(awk '{print $3}' <<<"$cluster_line")
if [[ $(awk '{print $4}' <<<"$cluster_line") != online ]]; then
	pg_ctlcluster "$pg_ver" "$pg_cluster" start
	pg_started=1
fi
pg() { (cd / && runuser -u postgres -- psql -X -q -tA -p "$pg_port" "$@"); }
# shellcheck disable=SC2317 # run by cleanup
pg_clean() {
	if ((pg_made)); then
		pg_dropcluster --stop "$pg_ver" "$pg_cluster" || say "pg_dropcluster failed"
		return
	fi
	if ((pg_ours)); then
		pg -d postgres -c 'DROP DATABASE IF EXISTS hoursd' >/dev/null || say "DROP DATABASE failed"
		for r in hoursd hoursd_owner hoursd_daemon hoursd_auditor hoursd_district_auditor \
			hoursd_liaison; do
			[[ " $pg_roles_before " == *" $r "* ]] ||
				pg -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null || say "DROP ROLE $r failed"
		done
	fi
	((pg_started == 0)) || pg_ctlcluster "$pg_ver" "$pg_cluster" stop || say "cluster stop failed"
}
on_exit pg_clean
if [[ -n $(pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'hoursd'") ]]; then
	say "this host's PostgreSQL has a database hoursd: skipping the setup test rather than touching it"
	exit "$fail"
fi
pg_roles_before=" $(pg -d postgres -c "SELECT string_agg(rolname, ' ') FROM pg_roles") "
pg_ours=1
# README.Debian: a PostgreSQL on another port than 5432 is port=N in database.conninfo.
if [[ $pg_port != 5432 ]]; then
	say "PostgreSQL is on port $pg_port: port=$pg_port in database.conninfo, as README.Debian says"
	sed -i "s|conninfo: \"host=/run/postgresql |conninfo: \"host=/run/postgresql port=$pg_port |" \
		/etc/hoursd/hoursd.yaml
fi

check "hoursd-setup --trial-pki" hoursd-setup --trial-pki --port "$pg_port"
cat "$tmp/out" >&2
check "hoursd-setup again: keeps what exists" hoursd-setup --trial-pki --port "$pg_port"
check "the shipped configuration unchanged (dpkg --verify)" bash -c \
	"[ $pg_port != 5432 ] || ! dpkg --verify hoursd | grep -F /etc/hoursd/hoursd.yaml"
check "runuser -u hoursd -- hoursd -t -c /etc/hoursd/hoursd.yaml" \
	runuser -u hoursd -- /usr/sbin/hoursd -t -c /etc/hoursd/hoursd.yaml
# hoursd as the unit runs it (no systemd here: runuser), from the shipped file.
(cd / && exec runuser -u hoursd -- /usr/sbin/hoursd -c /etc/hoursd/hoursd.yaml) \
	>"$tmp/hoursd.log" 2>&1 &
hpid=$!
ready=0
for _ in $(seq 100); do
	if curl -sf http://127.0.0.1:8809/readyz >/dev/null 2>&1; then
		ready=1
		break
	fi
	kill -0 "$hpid" 2>/dev/null || break
	sleep 0.1
done
if ((ready)); then
	say "ok: hoursd started from /etc/hoursd/hoursd.yaml and is ready"
	check "the trial terminal (termsim, TLS) sends a lesson of 3 records" \
		/usr/lib/hoursd/termsim --tls --layout 2013 --host 127.0.0.1 --port 8808 \
		--ca /etc/hoursd/tls/ca.crt --phone 13800000001 \
		--cert /etc/hoursd/tls/trial-term-13800000001.crt \
		--key /etc/hoursd/tls/trial-term-13800000001.key --lesson 3 --course 1213010000
	check "its records are stored, accepted" bash -c \
		"n=\$(cd / && runuser -u postgres -- psql -X -tA -p $pg_port -d hoursd \
		  -c \"SELECT count(*) FROM training_record WHERE verdict = 'accepted'\");
		 echo \"records accepted: \$n\"; [ \"\$n\" = 3 ]"
	check "/metrics counts them" bash -c \
		"curl -sf http://127.0.0.1:8809/metrics | grep -E '^hoursd_training_records_total'"
else
	cat "$tmp/hoursd.log" >&2
	say "FAIL: hoursd did not become ready from the shipped configuration"
	fail=1
fi
stop_hoursd

say "apt-get purge hoursd hoursd-tools"
installed=0
apt-get purge -y -q hoursd hoursd-tools >"$tmp/apt.log" 2>&1 || {
	cat "$tmp/apt.log" >&2
	say "FAIL: apt-get purge"
	fail=1
}
# What README.Debian leaves to the operator after a purge: the keys.
rm -rf /etc/hoursd
((fail == 0)) && say "ok"
exit "$fail"
