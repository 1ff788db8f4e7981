#!/usr/bin/env bash
# Ingest of N brokers with culex writing into one PostgreSQL at once: each broker gets
# its own load (ingest_load, 4 publishers, QoS 0, 100-byte text, 1,000 topics), and the
# rows stored by all of them are counted until every message is in. Also counts the
# connections one broker holds with the default options (pg_stat_activity), after its
# API pool was used. Usage: bench/brokers_one_db.sh [MESSAGES PER BROKER] [MAX BROKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-600000}
max_brokers=${2:-2}
source bench/lib.sh
trap 'kill ${pids[*]:-} 2>/dev/null || true; cleanup' EXIT
build_release

# Starts broker $1 (its broker_id) with culex; sets port_of[$1] and adds its pid to pids.
declare -A port_of
pids=()
start_broker() {
  local port; port=$(free_port)
  {
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"
    echo "plugin $work/culex.so"
    echo "plugin_opt_db_conninfo $conninfo"
    echo "plugin_opt_broker_id $1"
    echo "plugin_opt_http_listen 127.0.0.1:$(free_port)"
  } >"$work/mosquitto-$1.conf"
  mosquitto -c "$work/mosquitto-$1.conf" 2>"$work/broker-$1.log" &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  port_of[$1]=$port
}

for brokers in $(seq "$max_brokers"); do
  start_cluster
  pids=()
  for b in $(seq "$brokers"); do start_broker "b$b"; done
  for _ in $(seq 100); do
    [ "$(psql_q "SELECT count(*) FROM culex.brokers")" = "$brokers" ] 2>/dev/null && break
    sleep 0.1
  done
  expected=$((brokers * messages))
  echo "=== $brokers broker(s) on one PostgreSQL, $messages messages each"
  start=$(date +%s.%N)
  loads=()
  for b in $(seq "$brokers"); do
    "$load" --port "${port_of[b$b]}" --publishers 4 --messages "$messages" --qos 0 --topics 1000 \
      --payload 100 --payload-kind text >"$work/load-b$b.txt" &
    loads+=($!)
  done
  # A count is a scan; twice a second keeps its cost off the measurement.
  while [ "$(psql_q "SELECT count(*) FROM culex.message_store")" -lt "$expected" ]; do
    sleep 0.5
    if [ "$(echo "$(date +%s.%N) - $start > 600" | bc)" = 1 ]; then echo "gave up waiting" >&2; break; fi
  done
  end=$(date +%s.%N)
  wait "${loads[@]}"
  for b in $(seq "$brokers"); do echo "b$b: $(grep broker_throughput "$work/load-b$b.txt")"; done
  stored=$(psql_q "SELECT count(*) FROM culex.message_store")
  echo "rows stored $stored of $expected (probe rows included) in $(echo "$end - $start" | bc) s:" \
       "$(echo "$stored / ($end - $start)" | bc) rows/s into one PostgreSQL"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  stop_cluster
done

echo "=== connections one broker holds with the default options"
start_cluster
pids=()
start_broker solo
http=$(grep -o 'http_listen 127.0.0.1:[0-9]*' "$work/mosquitto-solo.conf" | cut -d: -f2)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http/readyz" >/dev/null && break; sleep 0.1; done
# Eight reads at once open the API pool to its size (http_db_connections 4).
# Their pids only: a bare `wait` would wait for the broker too.
readers=()
for _ in $(seq 8); do curl -s "http://127.0.0.1:$http/readyz" >/dev/null & readers+=($!); done
wait "${readers[@]}"
sleep 1
psql_q "SELECT count(*) || ' connections: ' || string_agg(coalesce(nullif(query, ''), '-'), ' | ' ORDER BY backend_start)
        FROM (SELECT left(query, 40) AS query, backend_start FROM pg_stat_activity
              WHERE application_name = 'culex') a"
