#!/usr/bin/env bash
# The burst that used to overflow the queue while the spool sat idle: PostgreSQL down,
# queue_capacity 10000, spool on, and MESSAGES QoS 1 messages from 4 publishers at full
# speed (no rate limit). Prints the broker's rate, then what was stored once PostgreSQL
# is back and what the broker logged as not stored. Usage:
#   bench/outage_burst.sh [MESSAGES=100000] [QUEUE_CAPACITY=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-100000}
capacity=${2:-10000}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster
make_spool_dir "$work/spool"
extra="plugin_opt_spool_dir $work/spool\nplugin_opt_queue_capacity $capacity"
port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\nplugin %s\nplugin_opt_db_conninfo %s\n%b\n' \
  "$port" "$work/culex.so" "$conninfo" "$extra" >"$work/burst.conf"
mosquitto -c "$work/burst.conf" 2>"$work/burst.log" &
broker=$!
for _ in $(seq 100); do
  [ "$(psql_q "SELECT to_regclass('culex.message_store') IS NOT NULL")" = t ] && break
  sleep 0.1
done
stop_cluster
echo "== PostgreSQL down; $messages QoS 1 messages at full speed into a queue of $capacity"
"$load" --port "$port" --broker-pid "$broker" --publishers 4 --payload 100 --topics 1000 \
  --messages "$messages" --qos 1 | grep -E 'throughput|puback' || true
resume_cluster
expected=$messages
for _ in $(seq 600); do
  [ "$(psql_q "SELECT count(*) FROM culex.message_store")" -ge "$expected" ] && break
  sleep 0.1
done
kill -TERM "$broker"; wait "$broker" || true
echo "stored rows: $(psql_q "SELECT count(*) FROM culex.message_store") of $expected," \
     "distinct: $(psql_q "SELECT count(DISTINCT (client_id, seq, topic_id, payload)) FROM culex.message_store")"
grep -E 'culex: (ingest queue full|.*spooled to|spool written|stopped)' "$work/burst.log" || true
