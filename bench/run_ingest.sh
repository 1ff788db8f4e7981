#!/usr/bin/env bash
# Ingest benchmark: the same mosquitto binary without and with culex.so, under the
# same load, in one run. Prints the figures recorded in docs/benchmarks.md.
# Usage: bench/run_ingest.sh [messages_qos0] [messages_qos1]
set -euo pipefail
cd "$(dirname "$0")/.."
n0=${1:-1000000}
n1=${2:-400000}
scripts/deps
scripts/build release >/dev/null
load=build-release/bench/ingest_load
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
work=$(mktemp -d /tmp/culex-bench-XXXXXX)
chmod 755 "$work"
cp build-release/culex.so "$work/"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pg_port=$(free_port)
mkdir -p "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work/pg"
as_postgres "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
# Stock settings except what any ingest server gets: more WAL between checkpoints and
# shared buffers sized for the run. fsync and synchronous_commit stay on.
as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c shared_buffers=2GB -c max_wal_size=8GB" start >/dev/null
trap 'as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null; rm -rf "$work"' EXIT
conninfo="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"

run_broker() {  # $1 = with|without; $2 = extra plugin option lines; rest = load arguments
  local mode=$1 extra=$2; shift 2
  local port; port=$(free_port)
  {
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"
    if [ "$mode" = with ]; then
      echo "plugin $work/culex.so"
      echo "plugin_opt_db_conninfo $conninfo"
      if [ -n "$extra" ]; then echo "$extra"; fi
    fi
  } >"$work/mosquitto-$mode.conf"
  mosquitto -c "$work/mosquitto-$mode.conf" 2>"$work/broker-$mode.log" &
  local pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  echo "--- mosquitto $(mosquitto -h | head -1 | awk '{print $3}') $mode culex ${extra:+($extra)}: $load $*"
  if [ "$mode" = with ]; then
    "$load" --port "$port" --broker-pid "$pid" --db "$conninfo" "$@"
  else
    "$load" --port "$port" --broker-pid "$pid" "$@"
  fi
  kill -TERM "$pid"; wait "$pid" || true
}

common=(--publishers 4 --payload 100 --topics 1000)
echo "== QoS 0, 100-byte text payloads, 1000 topics, as fast as possible"
run_broker without "" "${common[@]}" --messages "$n0" --qos 0 --payload-kind text
run_broker with    "" "${common[@]}" --messages "$n0" --qos 0 --payload-kind text
echo "== QoS 0, 100-byte JSON payloads, as fast as possible, with and without the jsonb copy"
run_broker with    "" "${common[@]}" --messages "$n0" --qos 0 --payload-kind json
run_broker with    "plugin_opt_store_json false" "${common[@]}" --messages "$n0" --qos 0 --payload-kind json
echo "== QoS 1 at 20,000 msg/s, 100-byte JSON payloads (three alternating pairs: tail latency is noisy)"
for round in 1 2 3; do
  run_broker without "" "${common[@]}" --messages "$n1" --qos 1 --rate 20000
  run_broker with    "" "${common[@]}" --messages "$n1" --qos 1 --rate 20000
done
