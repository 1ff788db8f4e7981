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
load_rows 1000000
base=http://127.0.0.1:$http_port
for round in $(seq "$rounds"); do
  for route in "/api/v1/messages?topic=%s&limit=100" "/get/%s/last/100"; do
    echo "--- round $round: GET $route (wrk -t2 -c8 -d${seconds}s)"
    wrk -t2 -c8 -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
      -s bench/http_read.lua "$base" -- "$route" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
  done
done
