# scripts/lib.sh - what the scripts that run hoursd share, sourced from the
# repository's root (run-tests.sh, bench.sh, bench-verify.sh, bench-conn.sh, soak.sh,
# run-demo.sh, check-deb.sh): a work directory cleaned up on exit, a free
# port, psql on the script's database, hoursd's configuration and its start.
# shellcheck shell=bash

# ---- the work directory and the cleanup ----

WORK=
EXIT_CMDS=() # on_exit's commands

# work_dir NAME [LABEL]: WORK, a fresh /tmp/NAME.XXXXXX that the cluster (run
# as the user hoursd when we are root) and apt (as _apt) can read; cleanup on
# EXIT.  It is kept, and LABEL's files said to be, when failed is not 0 or
# WORK_KEEP is set.
work_dir() {
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	WORK_LABEL=${2:-$1}
	trap cleanup EXIT
	chmod 755 "$WORK"
}

# on_exit COMMAND [WORD...]: run by cleanup, in order, before the rest.
on_exit() {
	EXIT_CMDS+=("$*")
}

# end_at_exit VAR [SIGNAL]: cleanup ends the process whose pid VAR holds then.
end_at_exit() {
	on_exit end_pid_of "$1" "${2:-TERM}"
}
end_pid_of() { # VAR SIGNAL
	end_pid "${!1}" "$2"
}

# end_pid PID [SIGNAL]: the process, if any, continued, signalled (TERM) and waited for.
end_pid() {
	[ -n "$1" ] || return 0
	kill -CONT "$1" 2>/dev/null
	kill "-${2:-TERM}" "$1" 2>/dev/null && wait "$1" 2>/dev/null
	return 0
}

# On EXIT: the on_exit commands, the cluster under WORK/pg, then WORK.
cleanup() {
	local cmd
	set +e
	# shellcheck disable=SC2086 # a command and its words
	for cmd in "${EXIT_CMDS[@]}"; do $cmd; done
	[ -d "$WORK/pg" ] && scripts/pg.sh stop "$WORK/pg" >/dev/null 2>&1
	[ -n "$WORK" ] || return 0
	if [ "${failed:-0}" != 0 ] || [ -n "${WORK_KEEP:-}" ]; then
		echo "$WORK_LABEL files kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}

# ---- ports, PostgreSQL ----

# A loopback port nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# psql on the script's database ($CI): tuples only, unaligned, quiet, stopping
# at the first error.
psql() {
	command psql -XAtq -v ON_ERROR_STOP=1 "${CI:?}" "$@"
}

# ---- hoursd ----

# write_config FILE CONNINFO TLS_PORT [PLAIN_PORT]: a hoursd.yaml for these
# scripts, listening on 127.0.0.1 (listen.tls, listen.plain if given), with
# the PKI of $WORK/pki; what differs, set for the call:
#   CONF_LISTEN_MORE, CONF_DATABASE_MORE  more keys of listen:, of database:
#   CONF_LOG_LEVEL (info), CONF_ALLOW_ROOT (true), CONF_ADMIN (admin.listen,
#   "": none), CONF_SYLLABUS (conf/syllabus.yaml of this tree), CONF_PKI,
#   CONF_REGISTRY (flag: the registry's checks at a login, rules.*)
# The caller appends its own sections after it (push:, audit:, ...).
write_config() {
	local pki=${CONF_PKI:-$WORK/pki}
	cat >"$1" <<YAML
# Written by scripts/${0##*/}; see conf/hoursd.yaml for every key.
listen:
  tls: "127.0.0.1:$3"
${4:+  plain: \"127.0.0.1:$4\"
}${CONF_LISTEN_MORE:+$CONF_LISTEN_MORE
}tls:
  cert: $pki/server.crt
  key: $pki/server.key
  ca: $pki/ca.crt
database:
  conninfo: "$2"
${CONF_DATABASE_MORE:+$CONF_DATABASE_MORE
}log:
  level: ${CONF_LOG_LEVEL:-info}
process:
  allow_root: ${CONF_ALLOW_ROOT:-true}
admin:
  listen: "${CONF_ADMIN:-}"
rules:
  syllabus: ${CONF_SYLLABUS:-$PWD/conf/syllabus.yaml}
YAML
	# The registry's checks at a login (docs/registry.md): these scripts drive
	# coaches and vehicles they never registered, so flag unless CONF_REGISTRY
	# says otherwise (the demo registers its own: refuse, the default).
	local c
	for c in coach_not_registered coach_retired coach_other_school coach_class_not_allowed \
		vehicle_not_registered vehicle_other_school vehicle_other_class terminal_not_bound; do
		echo "  $c: ${CONF_REGISTRY:-flag}" >>"$1"
	done
}

# push_config FILE PORT TERMINAL SIGNER: the push section appended to FILE:
# to https://localhost:PORT/api/v1/stage-hours with TERMINAL's TLS
# certificate, SIGNER's RSA key signing (the PKI of $WORK/pki), short retries.
push_config() {
	cat >>"$1" <<YAML
push:
  url: "https://localhost:$2/api/v1/stage-hours"
  ca: $WORK/pki/ca.crt
  cert: $WORK/pki/term-$3.crt
  key: $WORK/pki/term-$3.key
  sign_key: $WORK/pki/sign-rsa-$4.key
  sign_cert: $WORK/pki/sign-rsa-$4.crt
  retry_min_s: 1
  retry_max_s: 2
  timeout_s: 2
  lease_s: 5
YAML
}

# start_hoursd PROGRAM CONF LOG [PORT]: hoursd (PROGRAM) on CONF in the
# background, its output appended to LOG; HPID its pid.  Ready at the next
# " ready" line of LOG or, given PORT (for a log.level that hides that
# line), when 127.0.0.1:PORT takes a connection; at most 20 s, else it is
# killed, LOG's end shown, and 1 returned.
start_hoursd() {
	local log=$3 port=${4:-} readies
	readies=$(grep -c ' ready' "$log" 2>/dev/null || true)
	"$1" -c "$2" >>"$log" 2>&1 &
	HPID=$!
	for _ in $(seq 200); do
		if [ -n "$port" ]; then
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		else
			[ "$(grep -c ' ready' "$log")" -gt "${readies:-0}" ] && return 0
		fi
		kill -0 "$HPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "hoursd did not become ready; see $log:"
	tail -n 20 "$log"
	kill -KILL "$HPID" 2>/dev/null
	wait "$HPID" 2>/dev/null
	HPID=
	return 1
}
