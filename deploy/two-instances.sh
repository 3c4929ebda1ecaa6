#!/usr/bin/env bash
# Two Roster instances on one store, without Docker: the topology of
# compose.yaml minus the load balancer, for trying things by hand. (The
# tests use the Go helper internal/cluster instead.)
#
#   bash deploy/two-instances.sh                 # SQLite file in a temp dir
#   ROSTER_STORE=mongodb://127.0.0.1:27017/roster?replicaSet=rs0 bash deploy/two-instances.sh
#
# Prints both base URLs and an account's tokens, then waits; Ctrl-C stops
# both (they drain as on SIGTERM). PORTS: ROSTER_PORT_A (8081), ROSTER_PORT_B (8082).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:/usr/local/go/bin"

dir=$(mktemp -d "${TMPDIR:-/tmp}/roster-two.XXXXXX")
store=${ROSTER_STORE:-sqlite:$dir/roster.db}
port_a=${ROSTER_PORT_A:-8081}
port_b=${ROSTER_PORT_B:-8082}
# Both instances must share the secret key (sealed secrets, tokens).
key=${ROSTER_SSO_SECRET_KEY:-$(head -c 32 /dev/urandom | base64)}

go build -o "$dir/roster" ./cmd/roster
pids=()
stop() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait || true
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

for port in "$port_a" "$port_b"; do
	ROSTER_SSO_SECRET_KEY=$key "$dir/roster" serve --store "$store" \
		--listen "127.0.0.1:$port" --base-url "http://127.0.0.1:$port_a" \
		--log-format json >"$dir/roster-$port.log" 2>&1 &
	pids+=("$!")
done
for port in "$port_a" "$port_b"; do
	for _ in $(seq 30); do
		"$dir/roster" healthcheck --url "http://127.0.0.1:$port/readyz" --timeout 1s >/dev/null 2>&1 && break
		sleep 1
	done
	"$dir/roster" healthcheck --url "http://127.0.0.1:$port/readyz" --timeout 2s
done

ROSTER_SSO_SECRET_KEY=$key "$dir/roster" account create --store "$store" \
	--base-url "http://127.0.0.1:$port_a" --name "Two $(date +%s)" --owner-email "owner@two.example" --output json
echo "instance A: http://127.0.0.1:$port_a   log: $dir/roster-$port_a.log"
echo "instance B: http://127.0.0.1:$port_b   log: $dir/roster-$port_b.log"
echo "store: $store   (Ctrl-C stops both)"
wait
