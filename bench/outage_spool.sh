#!/usr/bin/env bash
# A 60 s PostgreSQL outage under QoS 1 load at RATE msg/s, with and without a spool:
# the broker's peak RSS and PUBACK latency, and whether every message is stored
# exactly once afterwards. Usage: bench/outage_spool.sh [rate=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-20000}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster

for mode in spool memory; do
  psql_q "DROP SCHEMA IF EXISTS culex CASCADE" >/dev/null
  extra=""
  if [ "$mode" = spool ]; then
    make_spool_dir "$work/spool"
    extra="plugin_opt_spool_dir $work/spool"
  fi
  echo "== $mode: 90 s of load, PostgreSQL down from 10 s to 70 s"
  (sleep 10; stop_cluster; sleep 60; resume_cluster) &
  outage=$!
  run_broker with "$extra" --publishers 4 --payload 100 --topics 1000 \
    --messages $((rate * 90)) --qos 1 --rate "$rate" |
    grep -E 'puback|rss|throughput|stored|persisted' || true
  wait "$outage"
  echo "stored rows: $(psql_q "SELECT count(*) FROM culex.message_store")," \
       "distinct messages: $(psql_q "SELECT count(DISTINCT (client_id, seq, topic_id, payload)) FROM culex.message_store")"
  grep -E 'culex: (ingest queue full|.*spooled|spool written)' "$work/broker-with.log" | head -3 || true
done
