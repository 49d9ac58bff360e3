#!/usr/bin/env bash
# Instructions per HTTP/1.1 request of a benchmark server, counted by callgrind (repeatable,
# unlike requests per second on a small shared machine):
#
#   cargo build --release -p graceful-benches --bins
#   benchmarks/instructions.sh target/release/http_graceful target/release/http_axum
#
# Each server runs under `valgrind --tool=callgrind` twice: once sent 4000 `GET /` on one
# keep-alive connection (Python's http.client), once none; both are then sent SIGTERM. The
# difference, divided by 4000, is printed per server. Needs valgrind and python3.
set -euo pipefail

REQUESTS=${REQUESTS:-4000}

# The total instructions of one run of server $1 sent $2 requests.
instructions() {
    local server=$1 requests=$2 scratch
    scratch=$(mktemp -d)
    valgrind --tool=callgrind --callgrind-out-file="$scratch/out" "$server" >"$scratch/stdout" 2>"$scratch/stderr" &
    local pid=$!
    for _ in $(seq 1 600); do
        grep -q '^ready ' "$scratch/stdout" && break
        sleep 0.1
    done
    local address
    address=$(awk '/^ready /{print $2}' "$scratch/stdout")
    python3 - "$address" "$requests" <<'PY'
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
connection = http.client.HTTPConnection(host, int(port))
for _ in range(int(sys.argv[2])):
    connection.request("GET", "/")
    connection.getresponse().read()
PY
    kill -TERM "$pid"
    wait "$pid"
    awk '/^summary:/{print $2}' "$scratch/out"
    rm -rf "$scratch"
}

for server in "$@"; do
    idle=$(instructions "$server" 0)
    loaded=$(instructions "$server" "$REQUESTS")
    echo "$server: $(( (loaded - idle) / REQUESTS )) instructions per request"
done
