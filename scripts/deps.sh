#!/usr/bin/env bash
# scripts/deps.sh - install the Debian 12 packages hoursd needs to build, test and run.
#
# Idempotent: asks dpkg which packages are missing and installs only those
# (apt-get update first).  A no-op that prints nothing when all are present.
# As root it runs apt-get itself; otherwise through sudo when there is one,
# else it prints the command to run and exits 1.
#
# We run our own PostgreSQL clusters (scripts/pg.sh), so when postgresql is
# being installed for the first time this asks postgresql-common not to
# create and start the system "main" cluster (harmless either way).
set -euo pipefail

PKGS=(
	build-essential pkg-config
	libevent-dev libssl-dev openssl libpq-dev libjansson-dev libyaml-dev
	check
	postgresql postgresql-contrib
	clang-format
	clang libclang-rt-dev # make fuzz: libFuzzer with ASan+UBSan (fuzz/)
	llvm                  # make fuzz-cov: llvm-profdata-14, llvm-cov-14
	curl                  # make soak: policesim's admin (faults, stats)
	python3 # tests/jt808_client.py, the acceptance client
	ca-certificates
	util-linux # runuser
	procps     # pgrep, ps
	systemd    # systemd-analyze verify of deploy/hoursd.service in make check
	mandoc     # mandoc -Tlint of the man pages in make check (scripts/check-man.sh)
	man-db     # man: systemd-analyze verify looks up the unit's Documentation=man:hoursd(8)
	chromium           # tests/report_browser.sh: the quarterly report's page, headless
	fonts-dejavu-core  # a font for it (recommends are not installed)
	# The teaching-log PDF (src/pdf/): pango over cairo, and a small CJK font
	# (fonts-noto-cjk would do too, at ~50 times the size); poppler-utils'
	# pdftotext reads it back in the integration tests.
	libpango1.0-dev libcairo2-dev fonts-wqy-microhei
	poppler-utils
	prometheus # promtool: check and test deploy/prometheus/hoursd-rules.yml in make check
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $st == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "deps.sh: installing missing packages: ${missing[*]}" >&2

if ((EUID == 0)); then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	echo "deps.sh: not root and no sudo; as root run:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y" \
		"--no-install-recommends ${missing[*]}" >&2
	exit 1
fi

# First install of postgresql: skip the system cluster we do not use.
pgc_st=$(dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null || true)
if [[ $pgc_st != "install ok installed" && ! -e /etc/postgresql-common/createcluster.conf ]]; then
	"${SUDO[@]}" mkdir -p /etc/postgresql-common/createcluster.d
	echo "create_main_cluster = false" |
		"${SUDO[@]}" tee /etc/postgresql-common/createcluster.d/50-hoursd-no-main.conf >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "deps.sh: done" >&2
