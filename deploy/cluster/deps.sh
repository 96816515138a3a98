#!/usr/bin/env bash
# deploy/cluster/deps.sh - the Debian 12 packages of the reference deployment
# (deploy/cluster/), beyond scripts/deps.sh's: etcd, Patroni and its clients of
# etcd (v3 through python3-etcd's base) and PostgreSQL, HAProxy, curl for the
# health checks.  Idempotent, like scripts/deps.sh: installs only what is
# missing (apt-get update first), as root or through sudo.
#   deploy/cluster/deps.sh           install what is missing
#   deploy/cluster/deps.sh --check   exit 1 naming what is missing, install nothing
set -euo pipefail

PKGS=(etcd-server patroni python3-etcd python3-psycopg2 haproxy curl)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $st == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
if [[ ${1:-} == --check ]]; then
	echo "deploy/cluster/deps.sh: missing packages: ${missing[*]}" >&2
	exit 1
fi

echo "deploy/cluster/deps.sh: installing missing packages: ${missing[*]}" >&2
if ((EUID == 0)); then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	echo "deploy/cluster/deps.sh: not root and no sudo; as root run:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y" \
		"--no-install-recommends ${missing[*]}" >&2
	exit 1
fi
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
# The packages start system services of their own (an etcd on 2379, a
# haproxy): the deployment runs its own on other ports and needs neither.
for s in etcd haproxy patroni; do
	"${SUDO[@]}" systemctl disable --now "$s" >/dev/null 2>&1 || true
done
echo "deploy/cluster/deps.sh: done" >&2
