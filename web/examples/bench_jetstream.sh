#!/bin/bash
# Ingest through NATS JetStream beside direct ingest (docs/scaling.md): single typed
# events (the scale benchmark's events.lua: commit chains and their deployments over
# 50 services) from `wrk -t2 -c64` for SECS seconds, first against `shiplog serve`
# directly, then against one `shiplog ingest` replica publishing to a local
# `nats-server -js` that `shiplog serve` consumes, each on a fresh database. Prints
# what was stored (serve's shiplog_events_accepted_total), wrk's latencies, and how
# long the writer took to store every acknowledged event after the load stopped.
# Needs wrk, nats-server, curl, python3 and a release build:
#   cargo build --release && bash web/examples/bench_jetstream.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/shiplog-target}/release/shiplog}
SECS=${SECS:-10}
W=${WORK:-$(mktemp -d)}
mkdir -p $W
NPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
nats-server -js -a 127.0.0.1 -p $NPORT -sd $W/nats > $W/nats.log 2>&1 &
NATS=$!
until grep -q "Server is ready" $W/nats.log; do sleep 0.1; done
cat > $W/shiplog.toml <<EOT
[nats]
url = "nats://127.0.0.1:$NPORT"
EOT
export SHIPLOG_INGEST_TOKEN=bench RUST_LOG=warn NO_COLOR=1
lua_for() { # $1 = nonce
  {
    echo 'token = "bench"'
    echo "nonce = \"$1\""
    echo 'start = 1780000000'
    echo 'services = {'
    for i in $(seq -w 1 50); do echo "  {\"svc-$i\", \"acme/svc-$i\", \"$(printf "%040d" $((10#$i)))\"},"; done
    echo '}'
    cat "$HERE/bench_scale/events.lua"
  } > $W/events-$1.lua
}
accepted() { curl -s $1/metrics | awk '/^shiplog_events_accepted_total/ {print $2}'; }
start_serve() { # $1 db, $2 config or empty
  if [ -n "$2" ]; then $BIN --config $2 serve --db $1 --addr 127.0.0.1:0 > $1.out 2> $1.log & else $BIN serve --db $1 --addr 127.0.0.1:0 > $1.out 2> $1.log & fi
  echo $! > $1.pid
  until grep -q "on http://" $1.log; do sleep 0.1; done
  grep -o "on http://[0-9.:]*" $1.log | sed 's/on //'
}
# Direct.
lua_for aaaa0001
S=$(start_serve $W/direct.duckdb "")
A0=$(accepted $S)
wrk -t2 -c64 -d${SECS}s --latency -s $W/events-aaaa0001.lua $S/api/v1/events > $W/wrk-direct.txt 2>&1
A1=$(accepted $S)
echo "direct: stored $((A1-A0)) in ${SECS}s => $(( (A1-A0)/SECS )) events/s"
grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors" $W/wrk-direct.txt
kill -TERM $(cat $W/direct.duckdb.pid); wait $(cat $W/direct.duckdb.pid) 2>/dev/null
# JetStream.
lua_for bbbb0002
S=$(start_serve $W/js.duckdb $W/shiplog.toml)
$BIN --config $W/shiplog.toml ingest --addr 127.0.0.1:0 2> $W/replica.log &
R=$!
until grep -q "on http://" $W/replica.log; do sleep 0.1; done
RB=$(grep -o "on http://[0-9.:]*" $W/replica.log | sed 's/on //')
until curl -sf $RB/readyz > /dev/null; do sleep 0.1; done
A0=$(accepted $S)
T0=$(date +%s.%N)
wrk -t2 -c64 -d${SECS}s --latency -s $W/events-bbbb0002.lua $RB/api/v1/events > $W/wrk-js.txt 2>&1
T1=$(date +%s.%N)
A1=$(accepted $S)
REQS=$(awk '/requests in/ {print $1}' $W/wrk-js.txt)
echo "jetstream: acknowledged $REQS requests in ${SECS}s; stored by serve during the run: $((A1-A0))"
grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors" $W/wrk-js.txt
# Wait for the writer to catch up: stored == acknowledged (every request one new event).
while true; do A=$(accepted $S); [ $((A-A0)) -ge $REQS ] && break; sleep 0.2; done
T2=$(date +%s.%N)
python3 -c "print('writer caught up %.1f s after the run; stored %d events in %.1f s from the start => %.0f events/s' % ($T2-$T1, $REQS, $T2-$T0, $REQS/($T2-$T0)))"
kill -TERM $R; kill -TERM $(cat $W/js.duckdb.pid); wait 2>/dev/null
kill -TERM $NATS; wait $NATS 2>/dev/null
