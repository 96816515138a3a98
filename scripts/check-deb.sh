#!/usr/bin/env bash
# scripts/check-deb.sh - build the Debian packages, lint them, install them, try them.
#
# Builds hoursd and hoursd-tools (debian/, dpkg-buildpackage -us -uc -b) in
# a temporary copy of the tree (its tracked and untracked files, not build/
# or var/), so that the working tree is not touched; runs lintian and fails
# on an error (warnings are printed); then, as root, installs both with
# apt-get, checks that hoursd -t accepts the installed configuration (its
# paths pointed at a throwaway certificate) and that hoursctl --version runs
# from /usr/bin, and purges them again.  Not root: the install part is
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
# shellcheck disable=SC2317 # run by cleanup
purge() {
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
# The installed configuration, its TLS files pointed at a throwaway
# self-signed certificate (as CA too) and the syllabus at the installed one.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$tmp/server.key" -out "$tmp/server.crt" 2>/dev/null
cp "$tmp/server.crt" "$tmp/ca.crt"
sed -e "s|var/pki/|$tmp/|" -e 's|conf/syllabus.yaml|/etc/hoursd/syllabus.yaml|' \
	/etc/hoursd/hoursd.yaml >"$tmp/hoursd.yaml"
check "/usr/bin/hoursd -t" /usr/bin/hoursd -t -c "$tmp/hoursd.yaml"
check "/usr/bin/hoursctl --version" /usr/bin/hoursctl --version
check "conffiles /etc/hoursd/{hoursd,syllabus}.yaml" bash -c \
	"dpkg-query -W -f='\${Conffiles}' hoursd | grep -q '/etc/hoursd/hoursd.yaml ' &&
	 dpkg-query -W -f='\${Conffiles}' hoursd | grep -q '/etc/hoursd/syllabus.yaml '"
check "user hoursd" getent passwd hoursd
# shellcheck disable=SC2016 # expanded by the inner bash
check "the unit's Documentation= file" bash -c \
	'f=$(sed -n "s|^Documentation=file:||p" /lib/systemd/system/hoursd.service) && test -f "$f"'
check "unit, migrations, man page, tools" test -f /lib/systemd/system/hoursd.service \
	-a -f /usr/share/hoursd/sql/001_init.sql -a -f /usr/share/man/man8/hoursd.8.gz \
	-a -x /usr/lib/hoursd/termsim -a -x /usr/lib/hoursd/policesim

say "apt-get purge hoursd hoursd-tools"
installed=0
apt-get purge -y -q hoursd hoursd-tools >"$tmp/apt.log" 2>&1 || {
	cat "$tmp/apt.log" >&2
	say "FAIL: apt-get purge"
	fail=1
}
((fail == 0)) && say "ok"
exit "$fail"
