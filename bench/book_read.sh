#!/usr/bin/env bash
# The book's read route against its /api/v1 equivalent on the same data, alternating in
# one run: newest 100 records of one of 1,000 topics (1,000,000 rows), wrk -c8.
# Usage: bench/book_read.sh [seconds per run] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-2}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster
start_api_broker "plugin_opt_broker_id bench\nplugin_opt_http_db_connections 2"
psql_q "INSERT INTO culex.brokers (name) VALUES ('bench') ON CONFLICT DO NOTHING" >/dev/null
psql_q "INSERT INTO culex.topics (name) SELECT 'bench/t' || lpad(i::text, 4, '0') FROM generate_series(0, 999) i" >/dev/null
psql_q "INSERT INTO culex.message_store (topic_id, payload, payload_json, qos, retain, client_id, broker_id, seq, received_at)
  SELECT t.id, convert_to(j::text, 'UTF8'), j, 0, false, 'bench-device', b.id, g,
         now() - (g / 1000) * interval '34.56 seconds'
  FROM generate_series(0, 999999) g
  CROSS JOIN LATERAL (SELECT jsonb_build_object('v', (g % 997) / 10.0, 'seq', g) AS j) p
  JOIN culex.topics t ON t.name = 'bench/t' || lpad((g % 1000)::text, 4, '0')
  CROSS JOIN (SELECT id FROM culex.brokers WHERE name = 'bench') b" >/dev/null
psql_q "VACUUM ANALYZE culex.message_store" >/dev/null
base=http://127.0.0.1:$http_port
for round in $(seq "$rounds"); do
  for route in "/api/v1/messages?topic=%s&limit=100" "/get/%s/last/100"; do
    echo "--- round $round: GET $route (wrk -t2 -c8 -d${seconds}s)"
    wrk -t2 -c8 -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
      -s bench/http_read.lua "$base" -- "$route" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
  done
done
