#!/usr/bin/env bash
# HTTP read benchmark: 5,000,000 stored rows over 1,000 topics (48 hours of JSON
# readings, ~104 per topic per hour), read through the API by wrk with 8 connections,
# and the same SQL through pgbench with 8 clients as the baseline, in one run.
# Usage: bench/http_read.sh [seconds per run] [http_db_connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
pool=${2:-4}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster
start_api_broker "plugin_opt_broker_id bench\nplugin_opt_http_db_connections $pool"
echo "== loading 5,000,000 rows over 1,000 topics"
start=$(date +%s)
load_rows 5000000
echo "loaded in $(( $(date +%s) - start )) s: $(psql_q 'SELECT count(*) FROM culex.message_store') rows, $(psql_q "SELECT pg_size_pretty(pg_total_relation_size('culex.message_store'))")"

now_ms=$(( $(date +%s) * 1000 ))
hour_after=$(( now_ms - 3 * 3600 * 1000 ))
hour_before=$(( now_ms - 2 * 3600 * 1000 ))
day_after=$(( now_ms - 24 * 3600 * 1000 ))
base=http://127.0.0.1:$http_port
curl -sf -H "Authorization: Bearer $token" "$base/api/v1/messages?topic=bench%2Ft0001&limit=1" >/dev/null

run_wrk() {  # $1 = label, $2 = path template
  echo "--- HTTP: $1 (wrk -t2 -c8 -d${seconds}s, http_db_connections $pool)"
  wrk -t2 -c8 -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    -s bench/http_read.lua "$base" -- "$2" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket errors"
}

run_pgbench() {  # $1 = label, $2 = SQL with :t for the topic number
  echo "--- SQL baseline: $1 (pgbench -M prepared -c8 -j2 -T$seconds)"
  printf '\\set t random(0, 999)\n%s;\n' "$2" >"$work/pgbench.sql"
  chmod 644 "$work/pgbench.sql"
  as_postgres "$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c8 -j2 \
    -T"$seconds" -f "$work/pgbench.sql" postgres 2>&1 | grep -E "^tps|latency average"
}

topic_sql="(SELECT id FROM culex.topics WHERE name = 'bench/t' || lpad(:t::text, 4, '0'))"
cols="m.id, t.name, m.payload, m.qos, m.retain, m.client_id, m.username, b.name, (extract(epoch FROM m.received_at) * 1000000)::bigint"
joins="FROM culex.message_store m JOIN culex.topics t ON t.id = m.topic_id JOIN culex.brokers b ON b.id = m.broker_id"

echo "== newest 100 of one topic"
run_wrk "GET /api/v1/messages?topic=T&limit=100" "/api/v1/messages?topic=%s&limit=100"
run_pgbench "the same query" "SELECT $cols $joins WHERE m.deleted_at IS NULL AND m.topic_id = $topic_sql ORDER BY m.received_at DESC, m.id DESC LIMIT 101"

echo "== one topic's one-hour window (~104 rows)"
run_wrk "GET /api/v1/messages?topic=T&after=..&before=..&limit=1000" \
  "/api/v1/messages?topic=%s&after=$hour_after&before=$hour_before&limit=1000"
run_pgbench "the same query" "SELECT $cols $joins WHERE m.deleted_at IS NULL AND m.topic_id = $topic_sql AND m.received_at > to_timestamp($hour_after / 1000.0) AND m.received_at < to_timestamp($hour_before / 1000.0) ORDER BY m.received_at DESC, m.id DESC LIMIT 1001"

echo "== 24 hours of one topic in 1-minute buckets (~2,500 rows, 1,440 buckets)"
run_wrk "GET /api/v1/messages/aggregate?topic=T&field=v&bucket=1m&after=.." \
  "/api/v1/messages/aggregate?topic=%s&field=v&bucket=1m&after=$day_after"
run_pgbench "the rows the API reads and buckets itself" "SELECT (extract(epoch FROM m.received_at) * 1000000)::bigint, m.payload_json #> '{v}' #>> '{}' FROM culex.message_store m WHERE m.deleted_at IS NULL AND m.topic_id = $topic_sql AND m.received_at > to_timestamp($day_after / 1000.0) AND jsonb_typeof(m.payload_json #> '{v}') = 'number' ORDER BY m.received_at, m.id"
run_pgbench "bucketing in SQL instead (GROUP BY, ordered aggregates for first/last)" "SELECT (extract(epoch FROM date_bin(interval '1 minute', m.received_at, timestamptz 'epoch')) * 1000000)::bigint, count(*), min(v), max(v), avg(v), sum(v), (array_agg(v ORDER BY m.received_at, m.id))[1], (array_agg(v ORDER BY m.received_at DESC, m.id DESC))[1] FROM culex.message_store m CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(m.payload_json #> '{v}') = 'number' THEN (m.payload_json #> '{v}')::numeric END AS v) x WHERE m.deleted_at IS NULL AND m.topic_id = $topic_sql AND m.received_at > to_timestamp($day_after / 1000.0) AND x.v IS NOT NULL GROUP BY 1 ORDER BY 1"
