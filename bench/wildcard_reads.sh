#!/usr/bin/env bash
# Newest 100 under a topic filter through the HTTP API (issue 19), over ROWS stored rows
# of 1,000 topics while ingest_load stores 20,000 QoS 1 msg/s through the same broker:
# one topic (random), a 3-topic filter (bench/few/+) and the 1,000-topic filter
# (bench/#), wrk -t2 -c8, ROUNDS rounds of SECONDS each.
# Usage: bench/wildcard_reads.sh [ROWS] [SECONDS] [ROUNDS]   (defaults: 50,000,000 10 2)
# With CULEX_BENCH_PG_DIR=DIR the cluster lives in DIR and is kept, so that a later run
# with the same ROWS reads what is there instead of loading again.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-50000000}
seconds=${2:-10}
rounds=${3:-2}
source bench/lib.sh
trap 'kill "${ingest_pid:-}" 2>/dev/null || true; cleanup' EXIT
build_release
start_cluster
start_api_broker "plugin_opt_broker_id bench"
loaded=$(psql_q "SELECT rows FROM public.bench_loaded" 2>/dev/null || true)
if [ -z "$loaded" ]; then
  echo "== loading $rows rows over 1,000 topics"
  start=$(date +%s)
  load_rows "$rows"
  # Three of them renamed, so that an MQTT filter matches exactly three.
  psql_q "UPDATE culex.topics SET name = 'bench/few/' || right(name, 4)
          WHERE name IN ('bench/t0001', 'bench/t0002', 'bench/t0003')" >/dev/null
  psql_q "ANALYZE culex.topics" >/dev/null
  psql_q "CREATE TABLE public.bench_loaded AS SELECT $rows AS rows" >/dev/null
  echo "loaded in $(( $(date +%s) - start )) s"
elif [ "$loaded" != "$rows" ]; then
  echo "$pg_dir holds $loaded rows, not $rows; remove it" >&2
  exit 1
fi
echo "$(psql_q 'SELECT count(*) FROM culex.message_store') rows in $(psql_q 'SELECT count(*) FROM culex.message_partitions') partitions, $(psql_q "SELECT pg_size_pretty(sum(pg_total_relation_size(partition))) FROM culex.message_partitions")"

base=http://127.0.0.1:$http_port
total=$(( rounds * 3 * (seconds + 1) + 10 ))
echo "== ingest: 20,000 QoS 1 msg/s on 1,000 other topics for ${total} s, reads meanwhile"
"$load" --port "$mqtt_port" --publishers 4 --payload 100 --topics 1000 --qos 1 --rate 20000 --topic-prefix ingest/ \
  --messages $(( total * 20000 )) --db "$conninfo" >"$work/ingest.txt" 2>&1 &
ingest_pid=$!
sleep 5
run_wrk() {  # $1 = label, $2 = path (%s: a random topic; %% for a literal %)
  echo "--- $1 (wrk -t2 -c8 -d${seconds}s)"
  wrk -t2 -c8 -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    -s bench/http_read.lua "$base" -- "$2" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket errors"
}
for round in $(seq "$rounds"); do
  run_wrk "newest 100 of one topic, round $round" "/api/v1/messages?topic=%s&limit=100"
  run_wrk "newest 100 under bench/few/+ (3 topics), round $round" "/api/v1/messages?filter=bench/few/%%2B&limit=100"
  run_wrk "newest 100 under bench/# (1,000 topics), round $round" "/api/v1/messages?filter=bench/%%23&limit=100"
done
wait "$ingest_pid" || true
echo "--- ingest meanwhile"
cat "$work/ingest.txt"
