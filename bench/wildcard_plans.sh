#!/usr/bin/env bash
# Newest 100 under a wildcard filter (issue 19), with nothing but PostgreSQL: one day's
# partition of ROWS rows over 1,000 interleaved topics, read by the API's SQL for one
# topic, a 3-topic and a 1,000-topic filter; the same filters as a per-topic LATERAL
# merge; then with an index on (received_at, id), and what that index costs an insert of
# 1M rows (time, WAL). Prints each plan's times, shape and buffers (warm runs).
# Usage: ROWS=2000000 bench/wildcard_plans.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-2000000}
source bench/lib.sh
trap cleanup EXIT
scripts/deps test
start_cluster
q() { pg_psql "$pg_port" -d w -v ON_ERROR_STOP=1 -qtAc "$1"; }
pg_psql "$pg_port" -d postgres -qtAc "CREATE DATABASE w"
q "CREATE SCHEMA culex"
for f in storage/migrations/*.sql; do pg_psql "$pg_port" -d w -v ON_ERROR_STOP=1 -q -1 -f - <"$f" >/dev/null; done
q "INSERT INTO culex.brokers (name) VALUES ('bench') ON CONFLICT DO NOTHING"
q "INSERT INTO culex.topics (name) SELECT 'bench/t' || i FROM generate_series(0, 999) i ORDER BY i"
q "SELECT culex.create_message_partition(now() - interval '1 day', 24)" >/dev/null
leaf=$(q "SELECT partition::text FROM culex.message_partitions WHERE range_from <= now() - interval '1 day' AND range_to > now() - interval '1 day'")
start=$(q "SELECT range_from FROM culex.message_partitions WHERE partition::text = '$leaf'")
echo "leaf $leaf from $start"
# Rows evenly over the day; row n of the probe inserts may fall past it (no partition).
spacing_us=$((86400000000 / (rows + 1)))
vals() { # rows $1..$2 as the message_store's columns
  echo "SELECT (n::bigint << 20), (n % 1000 + 1)::int, convert_to('{\"temp\":' || (n % 300) || '}', 'UTF8'),
    ('{\"temp\":' || (n % 300) || '}')::jsonb, 0::smallint, false, 'dev', NULL, 1::smallint, n,
    timestamptz '$start' + (n::bigint * $spacing_us) * interval '1 microsecond', NULL::timestamptz
    FROM generate_series($1, $2) n"
}
t0=$(date +%s.%N); q "INSERT INTO $leaf $(vals 1 "$rows")"; echo "loaded $rows rows in $(echo "$(date +%s.%N) - $t0" | bc) s"
q "VACUUM ANALYZE $leaf"; q "ANALYZE culex.topics"
cols="m.id, m.topic_id, m.payload, m.received_at"
explain() { # $1 label, $2 sql
  echo "--- $1"
  q "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $2" >/dev/null  # warms the cache
  q "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $2" >"$work/plan.txt"
  grep -E "Execution Time|Planning Time" "$work/plan.txt" | tr '\n' ' '; echo
  grep -E "Scan|Sort|Append|Nested|Limit|Buffers" "$work/plan.txt" | head -8
}
all="m.topic_id IN (SELECT id FROM culex.topics WHERE name ~ '^bench/.*\$' AND left(name, 1) <> '\$')"
three="m.topic_id IN (SELECT id FROM culex.topics WHERE name ~ '^bench/t[123]\$')"
one="m.topic_id = (SELECT id FROM culex.topics WHERE name = 'bench/t1')"
order="ORDER BY m.received_at DESC, m.id DESC LIMIT 101"
lateral() { # $1 topic condition on t
  echo "SELECT x.* FROM culex.topics t CROSS JOIN LATERAL (SELECT $cols FROM $leaf m WHERE m.topic_id = t.id
    AND m.deleted_at IS NULL ORDER BY m.received_at DESC, m.id DESC LIMIT 101) x WHERE $1
    ORDER BY x.received_at DESC, x.id DESC LIMIT 101"
}
explain "one topic (today's form)" "SELECT $cols FROM $leaf m WHERE m.deleted_at IS NULL AND $one $order"
explain "1000-topic filter (today's form)" "SELECT $cols FROM $leaf m WHERE m.deleted_at IS NULL AND $all $order"
explain "3-topic filter (today's form)" "SELECT $cols FROM $leaf m WHERE m.deleted_at IS NULL AND $three $order"
explain "3-topic filter, per-topic LATERAL merge" "$(lateral "t.name ~ '^bench/t[123]\$'")"
explain "1000-topic filter, per-topic LATERAL merge" "$(lateral "t.name ~ '^bench/.*\$'")"
t0=$(date +%s.%N); q "CREATE INDEX ON $leaf (received_at, id)"; echo "== index (received_at, id) built in $(echo "$(date +%s.%N) - $t0" | bc) s, $(q "SELECT pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_index WHERE indrelid = '$leaf'::regclass ORDER BY indexrelid DESC LIMIT 1")"
q "ANALYZE $leaf"
explain "1000-topic filter, with the time index" "SELECT $cols FROM $leaf m WHERE m.deleted_at IS NULL AND $all $order"
explain "3-topic filter, with the time index" "SELECT $cols FROM $leaf m WHERE m.deleted_at IS NULL AND $three $order"
explain "one topic, with the time index" "SELECT $cols FROM $leaf m WHERE m.deleted_at IS NULL AND $one $order"
echo "== ingest cost of the time index: 1M rows inserted into a table with the partition's indexes, without and with it"
for variant in without with; do
  q "DROP TABLE IF EXISTS culex.probe" 2>/dev/null
  q "CREATE TABLE culex.probe (LIKE culex.message_store)"
  q "ALTER TABLE culex.probe ADD PRIMARY KEY (id, received_at)"
  q "CREATE INDEX ON culex.probe (topic_id, received_at, id)"
  q "CREATE INDEX ON culex.probe (deleted_at) WHERE deleted_at IS NOT NULL"
  [ $variant = with ] && q "CREATE INDEX ON culex.probe (received_at, id)"
  q "CHECKPOINT"
  lsn=$(q "SELECT pg_current_wal_lsn()")
  t0=$(date +%s.%N)
  for chunk in 0 1 2 3 4 5 6 7 8 9; do q "INSERT INTO culex.probe $(vals $((chunk * 100000 + 1)) $(((chunk + 1) * 100000)))"; done
  echo "$variant: $(echo "$(date +%s.%N) - $t0" | bc) s, WAL $(q "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn'))")"
done
