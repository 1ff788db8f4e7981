#!/usr/bin/env bash
# Reads of culex.message_store before and after it was range-partitioned on received_at
# (migration 0006, issue 14), on the same rows in one run, with nothing but PostgreSQL.
# DB `single` has the schema of migrations 0001-0005, DB `parted` that of 0001-0006 with
# one partition per day. The queries are the HTTP API's own SQL (storage/message_reads.cpp
# read_series and read_message; read by id in `single` as the release before 0006 sent
# it): (a) newest 100 of one topic, (b) one topic's hour, (c) one message by id, through
# pgbench -M prepared -c 4 -j 2, alternating single/parted; (a) and (c) also with generic
# plans forced, and (a) with the LIMIT written into the SQL, because the plan cache's
# choice decides these figures. Then: read by id with 365
# daily partitions, one closed day's partition CLUSTERed on its topic index, and dropping
# a day against deleting it. Settings, from the environment:
#   ROWS      rows in the 30-day data set (50000000)
#   DURATION  seconds per pgbench run (20)
#   ROUNDS    alternations single/parted per measurement (2)
#   ROWS365   rows in the 365-day data set (3650000)
#   OUT       copy of the full output (/tmp/partition_reads-DATE.log)
# Example: ROWS=2000000 nice bench/partition_reads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-50000000}
duration=${DURATION:-20}
rounds=${ROUNDS:-2}
rows365=${ROWS365:-3650000}
out=${OUT:-/tmp/partition_reads-$(date +%Y%m%d-%H%M%S).log}
source bench/lib.sh
trap cleanup EXIT
exec > >(tee "$out") 2>&1

results=$work/results
: >"$results"
hour_us=3600000000
day_us=$((24 * hour_us))
id_step=8589934592 # 2^33: ids per hour, migration 0006

q() { pg_psql "$pg_port" -d "$1" -v ON_ERROR_STOP=1 -qtAc "$2"; }
now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }
wal_lsn() { q postgres "SELECT pg_current_wal_lsn()"; }
wal_since() { q postgres "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$1')"; }

# Creates DB $1 with the schema of migrations 0001..$2 from this working tree.
make_db() {
  local db=$1 last=$2 f
  q postgres "CREATE DATABASE $db"
  q "$db" "CREATE SCHEMA culex"
  for f in storage/migrations/000[1-"$last"]_*.sql; do
    pg_psql "$pg_port" -d "$db" -v ON_ERROR_STOP=1 -q -1 -f - <"$f" >/dev/null
  done
  q "$db" "INSERT INTO culex.brokers (name) VALUES ('bench')"
  q "$db" "INSERT INTO culex.topics (name) SELECT 'bench/t' || i FROM generate_series(0, 999) i ORDER BY i"
}

# A data set is `total` rows over `hours` hours from `base`: row n (1..total) has topic
# bench/t(n % 1000), so topics interleave as devices publish, received_at evenly spaced,
# and a ~35-byte JSON reading. Hour r (0-based) holds rows first_n(r)..first_n(r+1)-1.
first_n() { echo "(ceil(($1)::numeric * $total / $hours)::bigint + 1)"; }
columns="topic_id, payload, payload_json, qos, retain, client_id, broker_id, seq, received_at"
row_values() {  # $1 = the FROM clause that yields n
  echo "(n % 1000 + 1)::int, convert_to(p.j, 'UTF8'), p.j::jsonb, 0::smallint, false,
    'dev' || (n % 1000), 1::smallint, n,
    timestamptz '$base' + floor((n - 1)::numeric * $hours * $hour_us / $total)::bigint
      * interval '1 microsecond'
    FROM $1
    CROSS JOIN LATERAL (SELECT format('{\"temp\":%s,\"hum\":%s,\"n\":%s}',
      ((150 + n * 7 % 200) * 0.1)::numeric(4,1), 30 + n * 13 % 50, n) AS j) p"
}

# Day $2 (0-based) of the data set into the single table. Row n gets id n, as the
# identity hands them out to one writer; given explicitly because each day's session would
# leave the rest of its CACHE 1000 block unused, and reads by id draw from 1..ROWS.
load_day_single() {
  local db=$1 d=$2
  q "$db" "INSERT INTO culex.message_store (id, $columns) OVERRIDING SYSTEM VALUE
    SELECT n, $(row_values "generate_series($(first_n $((d * 24))), $(first_n $((d * 24 + 24))) - 1) n")"
}

# Day $2 into the partitioned table: time-ordered ids, one reservation per hour.
load_day_parted() {
  local db=$1 d=$2
  q "$db" "WITH h AS MATERIALIZED (
      SELECT lo, hi, culex.reserve_message_ids($h0 + r, (hi - lo + 1)::int) AS first_id
      FROM (SELECT r, $(first_n r) AS lo, $(first_n 'r + 1') - 1 AS hi
            FROM generate_series($((d * 24)), $((d * 24 + 23))) r) x
      WHERE hi >= lo ORDER BY r)
    INSERT INTO culex.message_store (id, $columns)
    SELECT h.first_id + (n - h.lo), $(row_values "h CROSS JOIN LATERAL generate_series(h.lo, h.hi) n")"
}

# Loads days 0..days-1 into both DBs, alternating day by day, then VACUUM ANALYZE.
# Needs total, hours, base, h0.
load_both() {
  local single=$1 parted=$2 days=$3 d t ts=0 tp=0
  for d in $(seq 0 $((days - 1))); do
    q "$parted" "SELECT culex.create_message_partition(timestamptz '$base' + interval '$d days', 24)" >/dev/null
  done
  for d in $(seq 0 $((days - 1))); do
    t=$(now_s)
    load_day_single "$single" "$d"
    ts=$(awk -v a="$ts" -v b="$(since "$t")" 'BEGIN { print a + b }')
    t=$(now_s)
    load_day_parted "$parted" "$d"
    tp=$(awk -v a="$tp" -v b="$(since "$t")" 'BEGIN { print a + b }')
    if [ $((d % 5)) -eq 4 ] || [ "$d" -eq $((days - 1)) ]; then
      echo "  day $((d + 1))/$days loaded: $single ${ts} s, $parted ${tp} s"
    fi
  done
  echo "load|$single|$ts" >>"$results"
  echo "load|$parted|$tp" >>"$results"
  for d in "$single" "$parted"; do
    t=$(now_s)
    q "$d" "VACUUM ANALYZE"
    echo "vacuum|$d|$(since "$t")" >>"$results"
    echo "  VACUUM ANALYZE $d: $(since "$t") s"
  done
}

# Heap, primary key, topic index and everything (with toast and the trash index).
sizes() {
  local db=$1
  q "$db" "SELECT sum(pg_relation_size(l.relid)) FILTER (WHERE tree = 0),
                  sum(pg_relation_size(l.relid)) FILTER (WHERE tree = 1),
                  sum(pg_relation_size(l.relid)) FILTER (WHERE tree = 2),
                  sum(pg_total_relation_size(l.relid)) FILTER (WHERE tree = 0)
           FROM (VALUES (0, 'culex.message_store'::regclass), (1, 'culex.message_store_pkey'),
                        (2, 'culex.message_store_topic_time')) r(tree, rel)
           CROSS JOIN LATERAL (SELECT relid FROM pg_partition_tree(r.rel) WHERE isleaf
                               UNION SELECT c.oid FROM pg_class c
                                     WHERE c.oid = r.rel AND c.relkind IN ('r', 'i')) l" |
    awk -F'|' -v db="$db" '{ printf "size|%s|%.0f|%.0f|%.0f|%.0f\n", db, $1/1048576, $2/1048576, $3/1048576, $4/1048576 }' |
    tee -a "$results" | awk -F'|' '{ printf "  %s: heap %s MiB, pkey %s MiB, topic_time %s MiB, total %s MiB\n", $2, $3, $4, $5, $6 }'
}

# The API's SQL with pgbench variables. :t is the topic number (the topic name is
# 'bench/t' || :t, inside the same scalar subquery the API sends with the name).
record="SELECT m.id, t.name, m.payload, m.qos, m.retain, m.client_id, m.username, b.name,
 (extract(epoch FROM m.received_at) * 1000000)::bigint FROM culex.message_store m
 JOIN culex.topics t ON t.id = m.topic_id JOIN culex.brokers b ON b.id = m.broker_id WHERE"
topic="m.deleted_at IS NULL AND m.topic_id = (SELECT id FROM culex.topics WHERE name = 'bench/t' || :t::text)"
after="m.received_at > (timestamptz 'epoch' + :a::bigint * interval '1 microsecond')"
before="m.received_at < (timestamptz 'epoch' + :b::bigint * interval '1 microsecond')"
page="ORDER BY m.received_at DESC, m.id DESC LIMIT :lim::bigint"
sql_newest="$record $topic $page"
sql_hour="$record $topic AND $after AND $before $page"
sql_newest_before="$record $topic AND $before $page"
# Not the API's: the page size written into the SQL, so that a generic plan is costed for
# 101 rows rather than for an unknown LIMIT (whether the plan cache then keeps it).
sql_newest_literal="${sql_newest/:lim::bigint/101}"
sql_id_single="$record m.id = :id::bigint AND m.deleted_at IS NULL"
sql_id_parted="$record m.id = :id::bigint AND m.received_at >= culex.message_id_from(:id::bigint)
 AND m.received_at < culex.message_id_until(:id::bigint) AND m.deleted_at IS NULL"

# pgbench scripts. hour: a random hour in h_lo..h_hi (relative to base_us); id_parted: a
# random hour, then one of the first per_hour ids of that hour (each hour has at least
# per_hour rows), so every id exists without a lookup in the transaction.
script() {  # name, SQL, then \set lines
  local name=$1 sql=$2
  shift 2
  { printf '%s\n' "$@"; printf '%s;\n' "$(tr '\n' ' ' <<<"$sql")"; } >"$work/$name.pgb"
  chmod 644 "$work/$name.pgb"
}
script newest "$sql_newest" '\set t random(0, 999)'
script newest_literal "$sql_newest_literal" '\set t random(0, 999)'
script newest_before "$sql_newest_before" '\set t random(0, 999)'
script hour "$sql_hour" '\set t random(0, 999)' '\set h random(:h_lo, :h_hi)' \
  '\set a :base_us + :h * 3600000000' '\set b :a + 3600000000'
script id_single "$sql_id_single" '\set id random(1, :nrows)'
script id_parted "$sql_id_parted" '\set h random(:h0, :h0 + :hours - 1)' \
  '\set k random(1, :per_hour)' "\\set id :h * $id_step + :k"

# pgbench: label, db, script, plan_cache_mode, then -D settings.
bench() {
  local label=$1 db=$2 name=$3 mode=$4 txt tps lat
  shift 4
  echo "--- $label: $db, $name.pgb, plan_cache_mode=$mode, load $(cut -d' ' -f1 /proc/loadavg), pgbench -M prepared -c 4 -j 2 -T $duration $*"
  txt=$(as_postgres env PGOPTIONS="-c plan_cache_mode=$mode" "$pg_bin/pgbench" -n -M prepared \
    -c 4 -j 2 -T "$duration" -h 127.0.0.1 -p "$pg_port" -U postgres -D lim=101 "$@" \
    -f "$work/$name.pgb" "$db" 2>&1)
  grep -E "^(number of (transactions actually processed|failed)|latency|tps)" <<<"$txt"
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' <<<"$txt")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$txt")
  echo "tps|$label|$db|$mode|$tps|$lat" >>"$results"
}

# EXPLAIN (ANALYZE, BUFFERS) of one execution as pgbench runs it: prepared, after six
# executions (when the plan cache has chosen between custom and generic plans).
# label, db, SQL, plan_cache_mode, then the parameter values in order of appearance.
explain() {
  local label=$1 db=$2 sql=$3 mode=$4 prepared args txt buffers ms planning plans
  shift 4
  prepared=$(perl -pe 'BEGIN { our %m; our $c = 0 } s/(?<![:\w]):([a-z_]\w*)/exists $m{$1} ? "\$$m{$1}" : ($m{$1} = ++$c, "\$$c")/ge' <<<"$sql")
  args=$(printf "'%s'," "$@")
  args=${args%,}
  echo "--- EXPLAIN $label: $db, plan_cache_mode=$mode, values ($args)"
  txt=$(pg_psql "$pg_port" -d "$db" -v ON_ERROR_STOP=1 -qtA <<EOF
SET plan_cache_mode = $mode;
PREPARE q AS $prepared;
\\o /dev/null
EXECUTE q($args); EXECUTE q($args); EXECUTE q($args);
EXECUTE q($args); EXECUTE q($args); EXECUTE q($args);
\\o
EXPLAIN (ANALYZE, BUFFERS) EXECUTE q($args);
SELECT 'plans: generic ' || generic_plans || ', custom ' || custom_plans FROM pg_prepared_statements WHERE name = 'q';
EOF
  )
  echo "$txt"
  buffers=$(grep -m1 'Buffers: shared' <<<"$txt" | sed 's/.*Buffers: //')
  ms=$(sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p' <<<"$txt")
  planning=$(sed -n 's/^Planning Time: \([0-9.]*\) ms/\1/p' <<<"$txt")
  plans=$(sed -n 's/^plans: //p' <<<"$txt")
  echo "explain|$label|$db|$mode|$buffers|$planning|$ms|$plans" >>"$results"
}

echo "== partition_reads: ROWS=$rows ROWS365=$rows365 DURATION=$duration ROUNDS=$rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
start_cluster
echo "PostgreSQL $(q postgres 'SHOW server_version'), shared_buffers $(q postgres 'SHOW shared_buffers'), data in $work/pg"

# ---- 1-3: the 30-day data set in both schemas.
total=$rows hours=720 base='2026-10-01 00:00:00+00'
base_us=$(q postgres "SELECT (extract(epoch FROM timestamptz '$base') * 1000000)::bigint")
h0=$((base_us / hour_us))
make_db single 5
make_db parted 6
echo "== loading $rows rows over 30 days, 1000 topics interleaved, into single and parted (30 daily partitions)"
load_both single parted 30
per_hour=$(q parted "SELECT min(next_value - 1) FROM culex.message_id_blocks")
for db in single parted; do
  echo "  $db: $(q "$db" "SELECT count(*) || ' rows, ids ' || min(id) || '..' || max(id) || ', sum(seq) ' || sum(seq) || ', ' || min(received_at) || ' .. ' || max(received_at) FROM culex.message_store")"
done
echo "  parted: $(q parted "SELECT count(*) FROM culex.message_partitions") partitions, at least $per_hour rows an hour"
sizes single
sizes parted
echo "  disk: cluster $(du -sh "$work/pg" | cut -f1), $(df -h "$work" | tail -1 | awk '{ print $4 " free on " $6 }')"

# ---- 4: the three reads, alternating.
mid_hour=$((hours / 2 + 7))
id_single_x=$((rows / 2 + 123))
id_parted_x=$(((h0 + mid_hour) * id_step + per_hour / 2))
echo "== reads over the 30 days"
for round in $(seq "$rounds"); do
  echo "-- round $round"
  for db in single parted; do
    bench "newest 100" "$db" newest auto
  done
  for db in single parted; do
    bench "topic hour" "$db" hour auto -D base_us="$base_us" -D h_lo=0 -D h_hi=$((hours - 1))
  done
  for mode in auto force_generic_plan; do
    bench "read by id" single id_single "$mode" -D nrows="$rows"
    bench "read by id" parted id_parted "$mode" -D h0="$h0" -D hours="$hours" -D per_hour="$per_hour"
  done
  for db in single parted; do
    bench "newest 100" "$db" newest force_generic_plan
  done
  for db in single parted; do
    bench "newest 100, LIMIT 101 in the SQL" "$db" newest_literal auto
  done
done
for db in single parted; do
  explain "newest 100" "$db" "$sql_newest" auto 500 101
  explain "newest 100" "$db" "$sql_newest" force_generic_plan 500 101
  explain "newest 100, LIMIT 101 in the SQL" "$db" "$sql_newest_literal" auto 500
  explain "topic hour" "$db" "$sql_hour" auto 500 $((base_us + mid_hour * hour_us)) $((base_us + (mid_hour + 1) * hour_us)) 101
done
explain "read by id" single "$sql_id_single" auto "$id_single_x"
explain "read by id" parted "$sql_id_parted" auto "$id_parted_x"
explain "read by id" single "$sql_id_single" force_generic_plan "$id_single_x"
explain "read by id" parted "$sql_id_parted" force_generic_plan "$id_parted_x"

# ---- 5: read by id with 365 daily partitions.
echo "== read by id with 365 partitions: $rows365 rows over 365 days"
total=$rows365 hours=8760 base='2025-01-01 00:00:00+00'
base_us=$(q postgres "SELECT (extract(epoch FROM timestamptz '$base') * 1000000)::bigint")
h0=$((base_us / hour_us))
make_db single365 5
make_db parted365 6
load_both single365 parted365 365
per_hour365=$(q parted365 "SELECT min(next_value - 1) FROM culex.message_id_blocks")
echo "  parted365: $(q parted365 "SELECT count(*) FROM culex.message_partitions") partitions, $(q parted365 "SELECT count(*) FROM culex.message_store") rows, at least $per_hour365 an hour"
sizes single365
sizes parted365
for round in $(seq "$rounds"); do
  echo "-- round $round"
  for mode in auto force_custom_plan force_generic_plan; do
    bench "read by id, 365 days" single365 id_single "$mode" -D nrows="$rows365"
    bench "read by id, 365 days" parted365 id_parted "$mode" -D h0="$h0" -D hours="$hours" -D per_hour="$per_hour365"
  done
done
for mode in auto force_custom_plan force_generic_plan; do
  explain "read by id, 365 days" single365 "$sql_id_single" "$mode" $((rows365 / 2 + 123))
  explain "read by id, 365 days" parted365 "$sql_id_parted" "$mode" $(((h0 + 4000) * id_step + per_hour365 / 2))
done
q postgres "DROP DATABASE single365"
q postgres "DROP DATABASE parted365"

# ---- 6: one closed day's partition in topic order.
total=$rows hours=720 base='2026-10-01 00:00:00+00'
base_us=$(q postgres "SELECT (extract(epoch FROM timestamptz '$base') * 1000000)::bigint")
cday=14
day_end_us=$((base_us + (cday + 1) * day_us))
cpart=$(q parted "SELECT name FROM culex.message_partitions WHERE range_from = timestamptz '$base' + interval '$cday days'")
cindex=$(q parted "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_index x ON x.indexrelid = c.oid
  WHERE i.inhparent = 'culex.message_store_topic_time'::regclass AND x.indrelid = 'culex.$cpart'::regclass")
day_reads() {  # $1 = label suffix
  local round db
  for round in $(seq "$rounds"); do
    echo "-- round $round"
    for db in single parted; do
      bench "newest 100 before day end$1" "$db" newest_before auto -D b="$day_end_us"
    done
    for db in single parted; do
      bench "topic hour in the day$1" "$db" hour auto -D base_us="$base_us" -D h_lo=$((cday * 24)) -D h_hi=$((cday * 24 + 23))
    done
  done
  for db in single parted; do
    explain "newest 100 before day end$1" "$db" "$sql_newest_before" auto 500 "$day_end_us" 101
    explain "topic hour in the day$1" "$db" "$sql_hour" auto 500 $((day_end_us - 10 * hour_us)) $((day_end_us - 9 * hour_us)) 101
  done
}
echo "== one day ($cpart), before CLUSTER"
day_reads ""
t=$(now_s)
q parted "CLUSTER culex.$cpart USING $cindex"
cluster_s=$(since "$t")
t=$(now_s)
q parted "ANALYZE culex.$cpart"
echo "cluster|$cpart|$cluster_s|$(since "$t")|$(q parted "SELECT pg_relation_size('culex.$cpart')")" >>"$results"
echo "== CLUSTER culex.$cpart USING $cindex: $cluster_s s (then ANALYZE $(since "$t") s)"
day_reads ", clustered"

# ---- 7: dropping one day against deleting it (the oldest, as retention would).
day_from="timestamptz '$base'"
day_to="timestamptz '$base' + interval '1 day'"
dpart=$(q parted "SELECT name FROM culex.message_partitions WHERE range_from = $day_from")
drows=$(q single "SELECT count(*) FROM culex.message_store WHERE received_at >= $day_from AND received_at < $day_to")
echo "== one day ($drows rows): DETACH CONCURRENTLY + DROP in parted, DELETE (+ VACUUM) in single; CHECKPOINT before each"
q parted "CHECKPOINT"
lsn=$(wal_lsn)
t=$(now_s)
q parted "ALTER TABLE culex.message_store DETACH PARTITION culex.$dpart CONCURRENTLY"
detach_s=$(since "$t")
t2=$(now_s)
q parted "DROP TABLE culex.$dpart"
echo "drop|parted|$drows|$(since "$t")|$detach_s|$(since "$t2")|$(wal_since "$lsn")" | tee -a "$results"
q single "CHECKPOINT"
lsn=$(wal_lsn)
t=$(now_s)
q single "DELETE FROM culex.message_store WHERE received_at >= $day_from AND received_at < $day_to"
echo "delete|single|$drows|$(since "$t")|$(wal_since "$lsn")" | tee -a "$results"
lsn=$(wal_lsn)
t=$(now_s)
q single "VACUUM culex.message_store"
echo "vacuum_after_delete|single|$(since "$t")|$(wal_since "$lsn")" | tee -a "$results"

# ---- 8: summary.
echo
echo "== summary (ROWS=$rows, ROWS365=$rows365, ${duration} s x $rounds rounds per figure, mean of rounds)"
awk -F'|' '
  $1 == "load"   { printf "load %-10s %8.1f s\n", $2, $3 }
  $1 == "vacuum" { printf "VACUUM ANALYZE %-10s %8.1f s\n", $2, $3 }
  $1 == "size"   { printf "size %-10s heap %6d MiB, pkey %5d MiB, topic_time %5d MiB, total %6d MiB\n", $2, $3, $4, $5, $6 }' "$results"
echo
printf '%-38s %-20s %12s %12s %10s %10s %8s\n' query plan_cache_mode "single tps" "parted tps" "single ms" "parted ms" ratio
awk -F'|' '$1 == "tps" {
    db = ($3 ~ /^single/) ? "s" : "p"; k = $2 SUBSEP $4
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    tps[k, db] += $5; lat[k, db] += $6; cnt[k, db]++ }
  END { for (i = 1; i <= n; i++) { k = order[i]; split(k, f, SUBSEP)
    ts = tps[k, "s"] / cnt[k, "s"]; tp = tps[k, "p"] / cnt[k, "p"]
    printf "%-38s %-20s %12.0f %12.0f %10.3f %10.3f %8.2f\n", f[1], f[2], ts, tp,
      lat[k, "s"] / cnt[k, "s"], lat[k, "p"] / cnt[k, "p"], tp / ts } }' "$results"
echo
printf '%-38s %-10s %-20s %-32s %8s %8s %s\n' "EXPLAIN (ANALYZE, BUFFERS)" db plan_cache_mode "top node buffers" "plan ms" "exec ms" "plans"
awk -F'|' '$1 == "explain" { printf "%-38s %-10s %-20s %-32s %8s %8s %s\n", $2, $3, $4, $5, $6, $7, $8 }' "$results"
echo
awk -F'|' '
  $1 == "cluster" { printf "CLUSTER %s (%.0f MiB): %s s, ANALYZE %s s\n", $2, $5 / 1048576, $3, $4 }
  $1 == "drop" { printf "parted: DETACH CONCURRENTLY + DROP of one day (%s rows): %s s (detach %s s, drop %s s), WAL %.1f MiB\n", $3, $4, $5, $6, $7 / 1048576 }
  $1 == "delete" { printf "single: DELETE of the same day (%s rows): %s s, WAL %.1f MiB\n", $3, $4, $5 / 1048576 }
  $1 == "vacuum_after_delete" { printf "single: VACUUM after that DELETE: %s s, WAL %.1f MiB\n", $3, $4 / 1048576 }' "$results"
echo "full output: $out"
