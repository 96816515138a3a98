#!/usr/bin/env bash
# deploy/cluster/cluster.sh - the reference deployment of docs/scaling.md on
# one machine, on loopback: etcd, two PostgreSQL nodes under Patroni
# (synchronous replication), HAProxy in front of the primary, the standby
# and the hoursd instances, policesim as the police platform, and N hoursd.
#
# Usage:
#   deploy/cluster/cluster.sh start DIR [N]   everything up and ready (N hoursd, default 3);
#                                             prints the ports as KEY=VALUE lines (DIR/env)
#   deploy/cluster/cluster.sh stop DIR        every process of DIR stopped (TERM, then KILL
#                                             after 15 s), nothing left running; DIR kept
#   deploy/cluster/cluster.sh start-hoursd DIR I    (re)start instance I (1..N)
#   deploy/cluster/cluster.sh primary DIR     prints the name of the primary node (pg1 or pg2)
#
# Every part is its own process with its own port and directory under DIR:
# DIR/etcd, DIR/pg1 and DIR/pg2 (Patroni's configuration, the data, the log),
# DIR/haproxy, DIR/hoursdI, DIR/policesim, DIR/pki; DIR/pids/NAME holds each
# process id, DIR/env the ports.  Ports are BASE and up (BASE from $CLUSTER_BASE,
# else a free block between 20000 and 60000).
#
# As root, PostgreSQL (and with it Patroni, etcd and HAProxy) runs as the
# system user "hoursd" (created if missing, as scripts/pg.sh does): initdb and
# postgres refuse root.  DIR must then be reachable by that user (e.g. under
# /tmp).  hoursd and policesim run as the caller (hoursd with
# process.allow_root).  A part that does not start is an error that says
# which and shows the end of its log; start stops what it started.
set -euo pipefail

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}
usage() {
	die "usage: $0 start DIR [N] | stop DIR | start-hoursd DIR I | primary DIR"
}
(($# >= 2)) || usage
CMD=$1
DIR=$(realpath -m -- "$2")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
BIN=${CLUSTER_BIN:-$REPO/build}
PG_BIN=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
OS_USER=hoursd

# "${AS_OWNER[@]}" CMD...: a server process as the user PostgreSQL runs as.
AS_OWNER=()
((EUID == 0)) && AS_OWNER=(runuser -u "$OS_USER" --)

need() { # the programs each part needs, with the package that brings it
	local miss=()
	command -v etcd >/dev/null || miss+=("etcd (package etcd-server)")
	command -v patroni >/dev/null || miss+=("patroni (package patroni)")
	command -v haproxy >/dev/null || miss+=("haproxy (package haproxy)")
	[[ -x $PG_BIN/postgres ]] || miss+=("PostgreSQL server (package postgresql)")
	/usr/bin/python3 -c 'import etcd, psycopg2' 2>/dev/null ||
		miss+=("python3-etcd and python3-psycopg2 (Patroni's etcd3 and PostgreSQL clients)")
	local p
	for p in hoursd hoursctl policesim termsim; do
		[[ -x $BIN/$p ]] || miss+=("$BIN/$p (make)")
	done
	((${#miss[@]} == 0)) || die "missing: ${miss[*]}; run deploy/cluster/deps.sh and make"
}

# The ports of BASE that we use can all be bound now (not just: nobody listens).
block_free() {
	python3 - "$1" <<-'PY'
		import socket, sys
		base = int(sys.argv[1])
		for i in [0, 1, 10, 11, 20, 21, 30, 31, 32, 40, 41, 90] + list(range(50, 80)):
		    s = socket.socket()
		    try:
		        s.bind(("127.0.0.1", base + i))
		    except OSError:
		        sys.exit(1)
		    finally:
		        s.close()
	PY
}

# A block of 100 free ports below the kernel's ephemeral range (32768 and up),
# so that no outgoing connection takes one of ours while we start.
pick_base() {
	local base
	for _ in $(seq 1 50); do
		base=${CLUSTER_BASE:-$((20000 + (RANDOM % 120) * 100))}
		block_free "$base" && {
			echo "$base"
			return
		}
		[[ -n ${CLUSTER_BASE:-} ]] && die "ports from $CLUSTER_BASE are taken"
	done
	die "no free block of ports found"
}

ports() { # the ports of the deployment from BASE
	ETCD_PORT=$((BASE + 0)) ETCD_PEER=$((BASE + 1))
	REST1_PORT=$((BASE + 10)) PG1_PORT=$((BASE + 11))
	REST2_PORT=$((BASE + 20)) PG2_PORT=$((BASE + 21))
	PG_PRIMARY_PORT=$((BASE + 30)) PG_REPLICA_PORT=$((BASE + 31)) STATS_PORT=$((BASE + 32))
	PLAIN_PORT=$((BASE + 40)) TLS_PORT=$((BASE + 41))
	PSIM_PORT=$((BASE + 90))
}
h_tls() { echo $((BASE + 50 + 10 * ($1 - 1))); }
h_plain() { echo $((BASE + 51 + 10 * ($1 - 1))); }
h_admin() { echo $((BASE + 52 + 10 * ($1 - 1))); }

# fill TEMPLATE OUT WORD=VALUE...: the template with every @WORD@ replaced.
fill() {
	local in=$1 out=$2
	shift 2
	python3 - "$in" "$out" "$@" <<-'PY'
		import re, sys
		text = open(sys.argv[1]).read()
		for kv in sys.argv[3:]:
		    k, v = kv.split("=", 1)
		    text = text.replace("@" + k + "@", v)
		body = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
		left = sorted(set(re.findall(r"@([A-Z0-9_]+)@", body)))
		if left:
		    sys.exit(sys.argv[1] + ": unfilled: " + ", ".join(left))
		open(sys.argv[2], "w").write(text)
	PY
}

# spawn NAME LOG CMD...: start CMD in the background in its own session, its pid in pids/NAME.
spawn() {
	local name=$1 log=$2
	shift 2
	(cd / && exec setsid "$@" >>"$log" 2>&1 </dev/null) &
	echo $! >"$DIR/pids/$name"
}

alive() { [[ -s $DIR/pids/$1 ]] && kill -0 "$(<"$DIR/pids/$1")" 2>/dev/null; }

# wait_for NAME SECONDS LOG CMD...: until CMD succeeds; else the part failed.
wait_for() {
	local name=$1 secs=$2 log=$3
	shift 3
	local end=$((SECONDS + secs))
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		alive "$name" || break
		sleep 0.2
	done
	echo "cluster.sh: $name did not become ready within $secs s; the end of $log:" >&2
	tail -n 30 "$log" >&2 || true
	return 1
}

http_ok() { curl -fsS -m 2 -o /dev/null "$1"; }

ensure_os_user() {
	((EUID == 0)) || return 0
	id -u "$OS_USER" >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --user-group "$OS_USER"
	runuser -u "$OS_USER" -- test -x "$DIR" ||
		die "user $OS_USER cannot reach $DIR: choose a DIR under /tmp"
}

start_etcd() {
	mkdir -p "$DIR/etcd"
	((EUID == 0)) && chown "$OS_USER:" "$DIR/etcd"
	spawn etcd "$DIR/etcd/etcd.log" "${AS_OWNER[@]}" etcd --name etcd1 --data-dir "$DIR/etcd/data" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
		--initial-cluster "etcd1=http://127.0.0.1:$ETCD_PEER" \
		--heartbeat-interval 100 --election-timeout 1000
	wait_for etcd 30 "$DIR/etcd/etcd.log" http_ok "http://127.0.0.1:$ETCD_PORT/health"
}

start_node() { # pg1 | pg2
	local n=$1 rest pg d=$DIR/$1
	[[ $n == pg1 ]] && rest=$REST1_PORT pg=$PG1_PORT || rest=$REST2_PORT pg=$PG2_PORT
	mkdir -p "$d/log" "$d/run"
	chmod 700 "$d/run"
	fill "$HERE/patroni.yml.in" "$d/patroni.yml" NAME="$n" REST_PORT="$rest" \
		ETCD_PORT="$ETCD_PORT" DIR="$d" PG_PORT="$pg" PG_BIN="$PG_BIN" \
		FSYNC="${CLUSTER_FSYNC:-on}"
	((EUID == 0)) && chown -R "$OS_USER:" "$d"
	spawn "$n" "$d/log/patroni.out" "${AS_OWNER[@]}" patroni "$d/patroni.yml"
}

start_patroni() {
	start_node pg1
	# The first node bootstraps; the second clones it (pg_basebackup).
	wait_for pg1 90 "$DIR/pg1/log/patroni.out" http_ok "http://127.0.0.1:$REST1_PORT/primary"
	start_node pg2
	wait_for pg2 90 "$DIR/pg2/log/patroni.out" http_ok "http://127.0.0.1:$REST2_PORT/replica"
	# Synchronous: the standby must be the synchronous one before we call it ready.
	wait_for pg2 60 "$DIR/pg2/log/patroni.out" sync_standby
}

sync_standby() {
	curl -fsS -m 2 "http://127.0.0.1:$REST1_PORT/cluster" 2>/dev/null |
		grep -q '"role": *"sync_standby"'
}

start_haproxy() {
	local i plain="" tls=""
	mkdir -p "$DIR/haproxy"
	for i in $(seq 1 "$N"); do
		plain+="    server h$i 127.0.0.1:$(h_plain "$i") send-proxy check port $(h_admin "$i")"$'\n'
		tls+="    server h$i 127.0.0.1:$(h_tls "$i") send-proxy-v2 check port $(h_admin "$i")"$'\n'
	done
	fill "$HERE/haproxy.cfg.in" "$DIR/haproxy/haproxy.cfg" STATS_PORT="$STATS_PORT" \
		PG_PRIMARY_PORT="$PG_PRIMARY_PORT" PG_REPLICA_PORT="$PG_REPLICA_PORT" \
		PG1_PORT="$PG1_PORT" PG2_PORT="$PG2_PORT" REST1_PORT="$REST1_PORT" \
		REST2_PORT="$REST2_PORT" PLAIN_PORT="$PLAIN_PORT" TLS_PORT="$TLS_PORT" \
		PLAIN_SERVERS="$plain" TLS_SERVERS="$tls"
	haproxy -c -q -f "$DIR/haproxy/haproxy.cfg" >"$DIR/haproxy/check.log" 2>&1 || {
		cat "$DIR/haproxy/check.log" >&2
		die "haproxy refused $DIR/haproxy/haproxy.cfg"
	}
	((EUID == 0)) && chown -R "$OS_USER:" "$DIR/haproxy"
	spawn haproxy "$DIR/haproxy/haproxy.log" "${AS_OWNER[@]}" haproxy -db -f "$DIR/haproxy/haproxy.cfg"
	wait_for haproxy 20 "$DIR/haproxy/haproxy.log" pg_up "$PG_PRIMARY_PORT"
}

# HAProxy sees every hoursd up on both terminal ports (its checks of /readyz).
all_up() {
	local up
	up=$(curl -fsS -m 2 "http://127.0.0.1:$STATS_PORT/;csv" |
		awk -F, '$1 ~ /^terminals_/ && $2 ~ /^h[0-9]$/ && $18 == "UP"' | wc -l)
	((up == 2 * N))
}

pg_up() { "$PG_BIN/psql" -XAtq -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SELECT 1"; }
psql_primary() { "$PG_BIN/psql" -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres "$@"; }

# The database, the schema, the terminals (TLS ones 0139..., timing ones 0138...).
setup_database() {
	local ci="host=127.0.0.1 port=$PG_PRIMARY_PORT dbname=hoursd user=postgres" p i
	psql_primary -d postgres -c "CREATE DATABASE hoursd" >/dev/null
	"$BIN/hoursctl" -d "$ci" migrate --dir "$REPO/sql" >/dev/null
	"$BIN/hoursctl" -d "$ci" school add S001 "Cluster school" >/dev/null
	for i in $(seq 1 "$TERMINALS"); do
		p=$(printf '0139%08d' "$i")
		"$BIN/hoursctl" -d "$ci" terminal add "$p" --cert "$DIR/pki/term-$p.crt" \
			--sign-cert "$DIR/pki/sign-rsa-$p.crt" >/dev/null
		"$BIN/hoursctl" -d "$ci" terminal assign "$p" S001 >/dev/null
		p=$(printf '0138%08d' "$i")
		"$BIN/hoursctl" -d "$ci" terminal add "$p" --p12 "$DIR/pki/term-$p.p12" \
			--p12-pass 123456 --imei "860$p" --terminal-no "$(printf '31000000%08d' "$i")" >/dev/null
		"$BIN/hoursctl" -d "$ci" terminal assign "$p" S001 >/dev/null
	done
}

start_policesim() {
	mkdir -p "$DIR/policesim"
	spawn policesim "$DIR/policesim/policesim.log" "$BIN/policesim" \
		--listen "127.0.0.1:$PSIM_PORT" --cert "$DIR/pki/server.crt" \
		--key "$DIR/pki/server.key" --client-ca "$DIR/pki/ca.crt" \
		--verify-cert "$DIR/pki/sign-rsa-013900000001.crt" \
		--store "$DIR/policesim/store.jsonl"
	wait_for policesim 20 "$DIR/policesim/policesim.log" \
		grep -q "policesim listening" "$DIR/policesim/policesim.log"
}

# Instance 3 reaches PostgreSQL without HAProxy, by libpq's own failover: a
# multi-host conninfo that wants the node taking writes.  The others go
# through HAProxy's primary port.  Both are tested.
hoursd_conninfo() {
	if (($1 == 3)); then
		echo "host=127.0.0.1,127.0.0.1 port=$PG1_PORT,$PG2_PORT dbname=hoursd user=postgres target_session_attrs=read-write connect_timeout=2"
	else
		echo "host=127.0.0.1 port=$PG_PRIMARY_PORT dbname=hoursd user=postgres connect_timeout=2"
	fi
}

start_hoursd() { # I
	local i=$1 d=$DIR/hoursd$1 note
	mkdir -p "$d"
	note="through HAProxy's port for the primary"
	(($1 == 3)) && note="libpq's multi-host failover, without HAProxy"
	fill "$HERE/hoursd.yaml.in" "$d/hoursd.yaml" TLS_PORT="$(h_tls "$i")" \
		PLAIN_PORT="$(h_plain "$i")" ADMIN_PORT="$(h_admin "$i")" PKI="$DIR/pki" \
		CONNINFO="$(hoursd_conninfo "$i")" CONNINFO_NOTE="$note" \
		SYLLABUS="$HERE/syllabus.yaml" PSIM_PORT="$PSIM_PORT"
	spawn "hoursd$i" "$d/hoursd.log" "$BIN/hoursd" -c "$d/hoursd.yaml"
	wait_for "hoursd$i" 30 "$d/hoursd.log" http_ok "http://127.0.0.1:$(h_admin "$i")/readyz"
}

write_env() {
	{
		echo "BASE=$BASE"
		echo "N=$N"
		echo "TERMINALS=$TERMINALS"
		echo "ETCD_PORT=$ETCD_PORT"
		echo "REST1_PORT=$REST1_PORT PG1_PORT=$PG1_PORT REST2_PORT=$REST2_PORT PG2_PORT=$PG2_PORT"
		echo "PG_PRIMARY_PORT=$PG_PRIMARY_PORT PG_REPLICA_PORT=$PG_REPLICA_PORT STATS_PORT=$STATS_PORT"
		echo "PLAIN_PORT=$PLAIN_PORT TLS_PORT=$TLS_PORT PSIM_PORT=$PSIM_PORT"
		echo "CONNINFO='host=127.0.0.1 port=$PG_PRIMARY_PORT dbname=hoursd user=postgres'"
		echo "REPLICA_CONNINFO='host=127.0.0.1 port=$PG_REPLICA_PORT dbname=hoursd user=postgres'"
		local i
		for i in $(seq 1 "$N"); do echo "H${i}_ADMIN=$(h_admin "$i")"; done
	} >"$DIR/env"
}

# Stop NAME: TERM to its session, KILL after 15 s.
stop_one() {
	local name=$1 pid
	[[ -s $DIR/pids/$name ]] || return 0
	pid=$(<"$DIR/pids/$name")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 75); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$DIR/pids/$name"
}

# A postmaster left by a killed Patroni (each data directory says its pid).
stop_postmasters() {
	local n pid
	for n in pg1 pg2; do
		[[ -s $DIR/$n/data/postmaster.pid ]] || continue
		pid=$(head -n 1 "$DIR/$n/data/postmaster.pid")
		if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]]; then
			kill -QUIT "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.2
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

stop_all() {
	local f
	[[ -d $DIR/pids ]] || return 0
	for f in "$DIR"/pids/hoursd* "$DIR"/pids/termsim*; do
		[[ -e $f ]] && stop_one "$(basename "$f")"
	done
	stop_one haproxy
	stop_one policesim
	stop_one pg2
	stop_one pg1
	stop_postmasters
	stop_one etcd
}

case $CMD in
start)
	N=${3:-3}
	[[ $N =~ ^[1-9]$ ]] || die "N must be 1 to 9"
	TERMINALS=${CLUSTER_TERMINALS:-3}
	need
	[[ ! -e $DIR/pids ]] || die "$DIR holds a deployment already; stop it and remove $DIR"
	mkdir -p "$DIR/pids"
	chmod 755 "$DIR"
	ensure_os_user
	BASE=$(pick_base)
	ports
	started=0
	# shellcheck disable=SC2154
	trap '((started)) || { echo "cluster.sh: start failed; stopping what started" >&2; stop_all; }' EXIT
	phones=()
	for i in $(seq 1 "$TERMINALS"); do
		phones+=("$(printf '0139%08d' "$i")" "$(printf '0138%08d' "$i")")
	done
	"$REPO/scripts/pki.sh" "$DIR/pki" "${phones[@]}" >/dev/null 2>&1 ||
		die "scripts/pki.sh failed"
	start_etcd
	start_patroni
	start_haproxy
	setup_database
	start_policesim
	for i in $(seq 1 "$N"); do start_hoursd "$i"; done
	wait_for haproxy 20 "$DIR/haproxy/haproxy.log" all_up
	started=1
	write_env
	cat "$DIR/env"
	;;
stop)
	[[ $# -eq 2 ]] || usage
	stop_all
	;;
start-hoursd)
	[[ $# -eq 3 ]] || usage
	# shellcheck disable=SC1091
	source "$DIR/env"
	ports
	stop_one "hoursd$3"
	start_hoursd "$3"
	wait_for haproxy 20 "$DIR/haproxy/haproxy.log" all_up
	;;
primary)
	# shellcheck disable=SC1091
	source "$DIR/env"
	if http_ok "http://127.0.0.1:$REST1_PORT/primary"; then
		echo pg1
	elif http_ok "http://127.0.0.1:$REST2_PORT/primary"; then
		echo pg2
	else
		echo none
	fi
	;;
*)
	usage
	;;
esac
