#!/usr/bin/env bash
# The HTTP API's reads of one data set stored by the release before partitions (a single
# table) and by this checkout (daily partitions), alternating in one run: newest 100 of
# one topic, one topic's hour, one record by id; wrk -t2 -c8 against each broker.
# Usage: bench/partition_http_ab.sh OLD_COMMIT [ROWS] [DAYS] [SECONDS] [ROUNDS]
# (defaults: 3,000,000 rows over 30 days of 1,000 interleaved topics, 10 s, 2 rounds).
# With CULEX_BENCH_PG_DIR=DIR the cluster lives in DIR and is kept: a later run with the
# same ROWS and DAYS reads what is there instead of loading again (ROUNDS=0 only loads).
set -euo pipefail
cd "$(dirname "$0")/.."
old_commit=${1:?usage: bench/partition_http_ab.sh OLD_COMMIT [ROWS] [DAYS] [SECONDS] [ROUNDS]}
rows=${2:-3000000}
days=${3:-30}
seconds=${4:-10}
rounds=${5:-2}
source bench/lib.sh
trap 'kill ${pids[*]:-} 2>/dev/null || true; remove_old_tree; cleanup' EXIT
pids=()

build_old_and_new "$old_commit"
start_cluster
token=bench-admin-token-0123456789
declare -A http_of

# Starts mosquitto with culex-$1.so on database $1 and waits for its API.
start_side() {
  local side=$1 port; port=$(free_port)
  http_of[$side]=$(free_port)
  if [ "$loaded" = no ]; then psql_q "CREATE DATABASE $side" >/dev/null; fi
  {
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"
    echo "plugin $work/culex-$side.so"
    echo "plugin_opt_db_conninfo host=127.0.0.1 port=$pg_port user=postgres dbname=$side"
    echo "plugin_opt_broker_id bench"
    echo "plugin_opt_http_listen 127.0.0.1:${http_of[$side]}"
    echo "plugin_opt_admin_token $token"
  } >"$work/mosquitto-$side.conf"
  mosquitto -c "$work/mosquitto-$side.conf" 2>"$work/broker-$side.log" &
  pids+=($!)
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:${http_of[$side]}/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "the $side broker did not come up; see $work/broker-$side.log" >&2
  return 1
}
dbq() { pg_psql "$pg_port" -d "$1" -v ON_ERROR_STOP=1 -qtAc "$2"; }

loaded=$(psql_q "SELECT count(*) FROM pg_database WHERE datname IN ('old', 'new')")
if [ "$loaded" = 2 ]; then
  loaded=$(pg_psql "$pg_port" -d new -tAc "SELECT rows || ' ' || days FROM public.bench_loaded" 2>/dev/null || true)
  if [ "$loaded" != "$rows $days" ]; then
    echo "$pg_dir holds a data set other than $rows rows over $days days ($loaded); remove it" >&2
    exit 1
  fi
  loaded=yes
elif [ "$loaded" = 0 ]; then
  loaded=no
else
  echo "$pg_dir holds an unfinished load; remove it" >&2
  exit 1
fi
start_side old
start_side new
if [ "$loaded" = no ]; then
  # The same rows in both: topic n % 1000, spread evenly over $days days back from now.
  spacing="(interval '$((days * 86400)) seconds' / $rows)"
  for side in old new; do
    dbq $side "INSERT INTO culex.topics (name) SELECT 'bench/t' || lpad(i::text, 4, '0') FROM generate_series(0, 999) i"
  done
  echo "== loading $rows rows over $days days into both"
  start=$(date +%s)
  # Both at once, one core each.
  dbq old "INSERT INTO culex.message_store (topic_id, payload, payload_json, qos, retain, client_id, broker_id, seq, received_at)
  SELECT t.id, convert_to(j::text, 'UTF8'), j, 0, false, 'bench-device', 1, g, now() - g * $spacing
  FROM generate_series(0, $rows - 1) g
  CROSS JOIN LATERAL (SELECT jsonb_build_object('v', (g % 997) / 10.0, 'seq', g) AS j) p
  JOIN culex.topics t ON t.name = 'bench/t' || lpad((g % 1000)::text, 4, '0')" &
  load_old=$!
  dbq new "SELECT count(culex.create_message_partition(now() - d * interval '1 day', 24)) FROM generate_series(0, $days + 1) d" >/dev/null
  dbq new "WITH r AS (SELECT g, now() - g * $spacing AS at FROM generate_series(0, $rows - 1) g),
  h AS (SELECT floor(extract(epoch FROM at) / 3600)::integer AS hour, count(*)::integer AS n FROM r GROUP BY 1),
  blocks AS (SELECT hour, culex.reserve_message_ids(hour, n) AS first FROM h)
  INSERT INTO culex.message_store (id, topic_id, payload, payload_json, qos, retain, client_id, broker_id, seq, received_at)
  SELECT blocks.first + row_number() OVER (PARTITION BY blocks.hour ORDER BY r.g) - 1,
         t.id, convert_to(j::text, 'UTF8'), j, 0, false, 'bench-device', 1, r.g, r.at
  FROM r JOIN blocks ON blocks.hour = floor(extract(epoch FROM r.at) / 3600)::integer
  CROSS JOIN LATERAL (SELECT jsonb_build_object('v', (r.g % 997) / 10.0, 'seq', r.g) AS j) p
  JOIN culex.topics t ON t.name = 'bench/t' || lpad((r.g % 1000)::text, 4, '0')"
  wait "$load_old"
  for side in old new; do dbq $side "VACUUM ANALYZE culex.message_store"; done
  echo "loaded in $(( $(date +%s) - start )) s; partitions: $(dbq new "SELECT count(*) FROM culex.message_partitions")"
  dbq new "CREATE TABLE public.bench_loaded AS SELECT $rows AS rows, $days AS days"
else
  echo "== reading the $rows rows loaded before in $pg_dir"
fi
# 10,000 existing ids of each, for the reads by id.
for side in old new; do
  dbq $side "SELECT id FROM culex.message_store TABLESAMPLE SYSTEM (1) LIMIT 10000" >"$work/ids-$side.txt"
done

now_ms=$(( $(date +%s) * 1000 ))
hour_after=$(( now_ms - days * 86400000 / 2 ))
hour_before=$(( hour_after + 3600000 ))
run() {  # $1 = side, $2 = label, $3 = lua script, $4 = path template
  echo "--- $1: $2 (wrk -t2 -c8 -d${seconds}s)"
  wrk -t2 -c8 -d"${seconds}s" --latency -H "Authorization: Bearer $token" -s "$3" \
    "http://127.0.0.1:${http_of[$1]}" -- "$4" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
}
for round in $(seq "$rounds"); do
  for side in old new; do
    run $side "newest 100 of one topic, round $round" bench/http_read.lua "/api/v1/messages?topic=%s&limit=100"
    run $side "one topic's hour, round $round" bench/http_read.lua \
      "/api/v1/messages?topic=%s&after=$hour_after&before=$hour_before&limit=1000"
    run $side "one record by id, round $round" bench/partition_ids.lua "$work/ids-$side.txt"
  done
done
