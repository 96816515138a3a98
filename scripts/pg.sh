#!/usr/bin/env bash
# scripts/pg.sh - a throwaway or development PostgreSQL cluster living in one directory.
#
# Usage:
#   scripts/pg.sh start DIR [PORT]   initdb if needed, start if not running, wait until
#                                    ready, create database "hoursd"; prints one line
#                                    "postgresql ready: host=DIR/run port=PORT"
#   scripts/pg.sh stop DIR           fast shutdown; fine if not running
#   scripts/pg.sh crash DIR          immediate shutdown (no checkpoint: a crash); fine if not running
#   scripts/pg.sh conninfo DIR       prints "host=DIR/run port=PORT dbname=hoursd user=USER"
#
# Layout: DIR/data (cluster), DIR/run (unix socket, mode 700), DIR/log/postgresql.log,
# DIR/port.  The cluster listens on no TCP address, only on the socket in DIR/run, so it
# cannot clash with a system cluster.  PORT (only the socket's name) defaults to the one
# in DIR/port, else 54329.  Auth is trust; the reach of the socket directory is the guard.
# PG_FAST=1 in the environment turns fsync off (for tests); otherwise fsync stays on.
#
# Binaries: the newest /usr/lib/postgresql/*/bin (Debian), never /usr/local.
# As root: initdb refuses to run as root, so the cluster is owned by and runs as the
# system user "hoursd" (created if missing), DIR is chown'ed to it, and a superuser role
# "root" is added so that root connects through the socket.  Directories above DIR that
# user hoursd cannot traverse get o+x if they belong to this repository (said on stderr);
# others (e.g. /root) are an error: choose a DIR elsewhere, e.g. under /tmp.
set -euo pipefail

die() {
	echo "pg.sh: $*" >&2
	exit 1
}
usage() {
	die "usage: $0 start DIR [PORT] | stop DIR | crash DIR | conninfo DIR"
}

(($# >= 2)) || usage
CMD=$1
DIR=$2
PORT_ARG=${3:-}
DEFAULT_PORT=54329
PGUSER_OS=hoursd
ME=$(id -un)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

BIN=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[[ -n $BIN && -x $BIN/pg_ctl ]] ||
	die "no PostgreSQL server under /usr/lib/postgresql/*/bin (run scripts/deps.sh)"

abs_dir() { # absolute path of $1 (need not exist)
	realpath -m -- "$1"
}

# as_owner CMD...: run a server binary as the cluster owner, from / (the caller's
# cwd may be unreadable for that user).
as_owner() {
	if ((EUID == 0)); then
		(cd / && runuser -u "$PGUSER_OS" -- "$@")
	else
		(cd / && "$@")
	fi
}

is_running() { # exit 0 when the cluster in $DATA is up
	[[ -f $DATA/PG_VERSION ]] || return 1
	as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

ensure_os_user() {
	if ! id -u "$PGUSER_OS" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --user-group "$PGUSER_OS" 2>/dev/null ||
			id -u "$PGUSER_OS" >/dev/null 2>&1 || die "cannot create system user $PGUSER_OS"
	fi
}

# Make every directory from / down to $DIR traversable by user hoursd: o+x on this
# repository's own directories, an error for any other.
ensure_traversable() {
	local path="" part
	local -a parts
	IFS=/ read -r -a parts <<<"${DIR#/}"
	for part in "" "${parts[@]}"; do
		path="${path%/}/$part"
		[[ $path == "$DIR" ]] && break
		runuser -u "$PGUSER_OS" -- test -x "$path" 2>/dev/null && continue
		if [[ $path == "$REPO" || $path == "$REPO"/* ]]; then
			chmod o+x "$path"
			echo "pg.sh: chmod o+x $path (so that user $PGUSER_OS reaches $DIR)" >&2
		else
			die "user $PGUSER_OS cannot traverse $path (mode $(stat -c %a "$path")) to reach" \
				"$DIR; use a DIR elsewhere (e.g. under /tmp) or chmod o+x $path yourself"
		fi
	done
}

# psql_admin SQL: run SQL as the bootstrap superuser, print the unaligned result.
psql_admin() {
	"$BIN/psql" -X -q -v ON_ERROR_STOP=1 -tA -h "$RUN" -p "$PORT" -U "$PGUSER_OS" \
		-d postgres -c "$1"
}

DIR=$(abs_dir "$DIR")
DATA=$DIR/data
RUN=$DIR/run
LOGDIR=$DIR/log

case $CMD in
start)
	[[ -z $PORT_ARG || $PORT_ARG =~ ^[0-9]+$ ]] || die "bad port: $PORT_ARG"
	if [[ -n $PORT_ARG ]]; then
		PORT=$PORT_ARG
	elif [[ -s $DIR/port ]]; then
		PORT=$(<"$DIR/port")
	else
		PORT=$DEFAULT_PORT
	fi
	((PORT > 0 && PORT < 65536)) || die "bad port: $PORT"
	# sun_path holds 107 bytes: DIR/run/.s.PGSQL.PORT must fit.
	sock="$RUN/.s.PGSQL.$PORT"
	((${#sock} <= 107)) || die "socket path too long (${#sock} > 107 bytes): $sock; use a shorter DIR"

	mkdir -p "$DIR"
	if ((EUID == 0)); then
		ensure_os_user
		ensure_traversable
	elif [[ -e $DATA && ! -O $DATA ]]; then
		die "$DATA belongs to $(stat -c %U "$DATA"); run as root or as that user"
	fi

	if is_running; then
		running_port=$(<"$DIR/port")
		[[ $running_port == "$PORT" ]] ||
			die "already running with port $running_port; stop it first to use $PORT"
	else
		mkdir -p "$RUN" "$LOGDIR"
		chmod 700 "$RUN"
		if ((EUID == 0)); then
			chown "$PGUSER_OS:" "$DIR" "$RUN" "$LOGDIR"
			if [[ -e $DATA && $(stat -c %U "$DATA") != "$PGUSER_OS" ]]; then
				chown -R "$PGUSER_OS:" "$DATA"
			fi
		fi
		if [[ ! -f $DATA/PG_VERSION ]]; then
			if [[ -e $DATA ]] && [[ -n $(ls -A "$DATA") ]]; then
				die "$DATA exists, is not empty and holds no cluster"
			fi
			if ! as_owner "$BIN/initdb" -D "$DATA" -A trust --username="$PGUSER_OS" \
				-E UTF8 --locale=C.UTF-8 >"$LOGDIR/initdb.log" 2>&1; then
				cat "$LOGDIR/initdb.log" >&2
				die "initdb failed (log: $LOGDIR/initdb.log)"
			fi
			echo "include_if_exists = 'hoursd.conf'" >>"$DATA/postgresql.conf"
		fi
		fsync=on
		[[ ${PG_FAST:-0} == 1 ]] && fsync=off
		# Rewritten at every start, so PORT and PG_FAST take effect.
		cat >"$DATA/hoursd.conf" <<-EOF
			# Written by scripts/pg.sh at each start; edits are lost.
			listen_addresses = ''
			port = $PORT
			unix_socket_directories = '$RUN'
			max_connections = 100
			shared_buffers = 128MB
			fsync = $fsync
			logging_collector = off
		EOF
		((EUID == 0)) && chown "$PGUSER_OS:" "$DATA/hoursd.conf"
		echo "$PORT" >"$DIR/port"
		if ! as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOGDIR/postgresql.log" -w -t 60 \
			start >/dev/null 2>&1; then
			tail -n 20 "$LOGDIR/postgresql.log" >&2 || true
			die "pg_ctl start failed (log: $LOGDIR/postgresql.log)"
		fi
	fi

	for _ in $(seq 1 120); do
		"$BIN/pg_isready" -q -h "$RUN" -p "$PORT" -d postgres && break
		sleep 0.25
	done
	"$BIN/pg_isready" -q -h "$RUN" -p "$PORT" -d postgres ||
		die "not ready after 30 s (log: $LOGDIR/postgresql.log)"

	if [[ $ME != "$PGUSER_OS" && -z $(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$ME'") ]]; then
		"$BIN/createuser" -h "$RUN" -p "$PORT" -U "$PGUSER_OS" -s "$ME"
	fi
	if [[ -z $(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'hoursd'") ]]; then
		"$BIN/createdb" -h "$RUN" -p "$PORT" -U "$PGUSER_OS" -O "$ME" hoursd
	fi
	echo "postgresql ready: host=$RUN port=$PORT"
	;;
stop)
	[[ $# -eq 2 ]] || usage
	if is_running; then
		as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null ||
			die "pg_ctl stop failed (log: $LOGDIR/postgresql.log)"
	fi
	;;
crash)
	# An immediate stop: no checkpoint, the next start recovers from the WAL
	# (scripts/soak.sh: a PostgreSQL crash under load).
	[[ $# -eq 2 ]] || usage
	if is_running; then
		as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 60 stop >/dev/null ||
			die "pg_ctl stop -m immediate failed (log: $LOGDIR/postgresql.log)"
	fi
	;;
conninfo)
	[[ $# -eq 2 ]] || usage
	[[ -s $DIR/port ]] || die "no cluster started in $DIR (no $DIR/port)"
	echo "host=$RUN port=$(<"$DIR/port") dbname=hoursd user=$ME"
	;;
*)
	usage
	;;
esac
