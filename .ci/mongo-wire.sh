#!/usr/bin/env bash
# Start/stop a throwaway MongoDB-wire-protocol server (embedded FerretDB with
# the SQLite handler, see tools/ferretdb) for the contract tests.
#
#   eval "$(.ci/mongo-wire.sh start)"   # builds (cached), starts, prints exports
#   .ci/mongo-wire.sh stop [DIR]        # stops it, removes its temp dir
#
# `start` prints, on stdout and nothing else:
#   export ROSTER_TEST_MONGODB_URI=mongodb://127.0.0.1:PORT/
#   export ROSTER_MONGO_WIRE_DIR=/tmp/roster-mongo-wire.XXXXXX
# `stop` uses DIR, else $ROSTER_MONGO_WIRE_DIR, else the last started dir.
#
# Environment:
#   ROSTER_CACHE                  binary cache dir (default $HOME/.cache/roster)
#   ROSTER_MONGO_WIRE_TIMEOUT     startup timeout in seconds (default 60)
#   ROSTER_MONGO_WIRE_LOG_LEVEL   FerretDB log level (default warn)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/tools/ferretdb
CACHE=${ROSTER_CACHE:-${HOME:-/tmp}/.cache/roster}
BIN=$CACHE/roster-ferretdb
STAMP=$CACHE/roster-ferretdb.stamp
LAST=$CACHE/mongo-wire.last
TIMEOUT=${ROSTER_MONGO_WIRE_TIMEOUT:-60}

log() { printf 'mongo-wire: %s\n' "$*" >&2; }

# build_stamp identifies the inputs of the cached binary: the wrapper sources
# plus the Go toolchain that builds it.
build_stamp() {
	{
		cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go"
		go version
		go env GOOS GOARCH
	} | sha256sum | cut -d' ' -f1
}

build() {
	mkdir -p "$CACHE"
	local want
	want=$(build_stamp)
	if [[ -x $BIN && -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
		log "using cached $BIN"
		return
	fi
	log "building $BIN (first build takes a minute or two) ..."
	local start=$SECONDS tmp="$BIN.tmp.$$"
	# Own module: keep it out of any go.work; pure Go (modernc SQLite).
	(cd "$SRC" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$tmp" .) >&2
	mv -f "$tmp" "$BIN"
	printf '%s\n' "$want" >"$STAMP"
	log "built in $((SECONDS - start))s"
}

# port_open HOST PORT: true if a TCP connection to HOST:PORT succeeds.
port_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

cmd_start() {
	build
	local dir pid hostport="" host port deadline
	dir=$(mktemp -d "${TMPDIR:-/tmp}/roster-mongo-wire.XXXXXX")
	"$BIN" \
		-listen 127.0.0.1:0 \
		-dir "$dir/data" \
		-port-file "$dir/addr" \
		-log-level "${ROSTER_MONGO_WIRE_LOG_LEVEL:-warn}" \
		</dev/null >"$dir/ferretdb.log" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$dir/pid"

	fail() {
		log "$1"
		log "---- $dir/ferretdb.log ----"
		cat "$dir/ferretdb.log" >&2 || true
		log "---- end of log ----"
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -rf "$dir"
		exit 1
	}

	deadline=$((SECONDS + TIMEOUT))
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			fail "server exited during startup"
		fi
		if [[ -z $hostport && -s $dir/addr ]]; then
			hostport=$(<"$dir/addr")
		fi
		if [[ -n $hostport ]]; then
			host=${hostport%:*}
			port=${hostport##*:}
			if port_open "$host" "$port"; then
				break
			fi
		fi
		if ((SECONDS >= deadline)); then
			fail "server not accepting connections after ${TIMEOUT}s"
		fi
		sleep 0.2
	done

	printf '%s\n' "$dir" >"$LAST"
	log "FerretDB (pid $pid) listening on $host:$port, state in $dir"
	printf 'export ROSTER_TEST_MONGODB_URI=%q\n' "mongodb://$host:$port/"
	printf 'export ROSTER_MONGO_WIRE_DIR=%q\n' "$dir"
}

cmd_stop() {
	local dir=${1:-${ROSTER_MONGO_WIRE_DIR:-}}
	if [[ -z $dir && -f $LAST ]]; then
		dir=$(<"$LAST")
	fi
	if [[ -z $dir || ! -d $dir ]]; then
		log "nothing to stop"
		return 0
	fi
	if [[ -f $dir/pid ]]; then
		local pid i
		pid=$(<"$dir/pid")
		if kill -TERM "$pid" 2>/dev/null; then
			for ((i = 0; i < 100; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				log "pid $pid did not exit after SIGTERM; sending SIGKILL"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
		log "stopped FerretDB (pid $pid)"
	fi
	rm -rf "$dir"
	if [[ -f $LAST && $(<"$LAST") == "$dir" ]]; then
		rm -f "$LAST"
	fi
}

case ${1:-} in
start) cmd_start ;;
stop) shift; cmd_stop "$@" ;;
*)
	echo "usage: $0 start|stop [DIR]" >&2
	exit 2
	;;
esac
