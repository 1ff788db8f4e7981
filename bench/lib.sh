# Shared by the ingest benchmark scripts: a private PostgreSQL cluster and a broker
# with or without culex.so. Source it from bench/*.sh after `cd` to the checkout.

source scripts/pg_cluster.sh

load=build-release/bench/ingest_load
work=$(mktemp -d /tmp/culex-bench-XXXXXX)
chmod 755 "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The plugin and the bench tools only, not the tests.
build_release() {
  scripts/deps test
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-release -j "$(nproc)" --target culex ingest_load publish_latency rule_match spool_rate >/dev/null
  cp build-release/culex.so "$work/"
}

# The cluster's directory: a fresh one in $work, or CULEX_BENCH_PG_DIR, kept across runs
# so that a large data set is loaded once (the read benchmarks reuse what it holds).
pg_dir=${CULEX_BENCH_PG_DIR:-$work/pg}

# Starts a fresh cluster (or the kept one). Stock settings except what any ingest server
# gets: more WAL between checkpoints and shared buffers sized for the run; fsync and
# synchronous_commit stay on.
start_cluster() {
  pg_port=$(free_port)
  if [ -z "${CULEX_BENCH_PG_DIR:-}" ]; then rm -rf "$pg_dir"; fi
  pg_cluster_create "$pg_dir"
  resume_cluster
  conninfo="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
}

# Starts the existing cluster again (after stop_cluster), on the same port.
resume_cluster() {
  pg_cluster_start "$pg_dir" "$pg_port" shared_buffers=2GB max_wal_size=8GB
}

# Builds this checkout's culex.so as $work/culex-new.so and that of commit $1, in a
# worktree (remove_old_tree takes it away), as $work/culex-old.so: for A/B runs.
old_tree=$work/old-tree
build_old_and_new() {
  build_release
  cp "$work/culex.so" "$work/culex-new.so"
  echo "culex: building culex.so of $1" >&2
  git worktree add --detach "$old_tree" "$1" >/dev/null 2>&1
  cmake -S "$old_tree" -B "$old_tree/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$old_tree/build" -j "$(nproc)" --target culex >/dev/null
  cp "$old_tree/build/culex.so" "$work/culex-old.so"
}
remove_old_tree() { git worktree remove --force "$old_tree" 2>/dev/null || true; }

# A spool directory the broker can write (it runs as `mosquitto` when started as root).
make_spool_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then chown mosquitto: "$1"; fi
}

psql_q() { pg_psql "$pg_port" -tAc "$1"; }

stop_cluster() { pg_cluster_stop "$pg_dir"; }

cleanup() {
  if [ -n "${api_broker_pid:-}" ]; then kill "$api_broker_pid" 2>/dev/null || true; fi
  stop_cluster
  rm -rf "$work"
}

# Starts mosquitto with culex and the HTTP API in the background and waits for the API.
# Sets mqtt_port, http_port, token and api_broker_pid; $1 = extra plugin option lines.
start_api_broker() {
  mqtt_port=$(free_port)
  http_port=$(free_port)
  token=bench-admin-token-0123456789
  {
    echo "listener $mqtt_port 127.0.0.1"
    echo "allow_anonymous true"
    echo "plugin $work/culex.so"
    echo "plugin_opt_db_conninfo $conninfo"
    echo "plugin_opt_http_listen 127.0.0.1:$http_port"
    echo "plugin_opt_admin_token $token"
    if [ -n "${1:-}" ]; then printf '%b\n' "$1"; fi
  } >"$work/mosquitto-api.conf"
  mosquitto -c "$work/mosquitto-api.conf" 2>"$work/broker-api.log" &
  api_broker_pid=$!
  for _ in $(seq 300); do
    # The braces confine the 2>/dev/null; the exec keeps fd 3 open in this shell.
    if { exec 3<>"/dev/tcp/127.0.0.1/$http_port"; } 2>/dev/null; then
      printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
      if head -n 1 <&3 | grep -q ' 200 '; then exec 3<&-; return 0; fi
      exec 3<&-
    fi
    sleep 0.1
  done
  echo "the broker's API did not come up; see $work/broker-api.log" >&2
  return 1
}

# With broker_cpus / load_cpus set (taskset lists like 0 or 1), the broker and the load
# generator run pinned to those CPUs.
run_broker() {  # $1 = with|without; $2 = extra plugin option lines; rest = load arguments
  local mode=$1 extra=$2; shift 2
  local broker_pin=() load_pin=()
  if [ -n "${broker_cpus:-}" ]; then broker_pin=(taskset -c "$broker_cpus"); fi
  if [ -n "${load_cpus:-}" ]; then load_pin=(taskset -c "$load_cpus"); fi
  local port; port=$(free_port)
  {
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"
    if [ "$mode" = with ]; then
      echo "plugin $work/culex.so"
      echo "plugin_opt_db_conninfo $conninfo"
      if [ -n "$extra" ]; then printf '%b\n' "$extra"; fi
    fi
  } >"$work/mosquitto-$mode.conf"
  "${broker_pin[@]}" mosquitto -c "$work/mosquitto-$mode.conf" 2>"$work/broker-$mode.log" &
  local pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  echo "--- mosquitto $(mosquitto -h | head -1 | awk '{print $3}') $mode culex ${extra:+($extra)}: $load $*"
  if [ "$mode" = with ]; then
    "${load_pin[@]}" "$load" --port "$port" --broker-pid "$pid" --db "$conninfo" "$@"
  else
    "${load_pin[@]}" "$load" --port "$port" --broker-pid "$pid" "$@"
  fi
  kill -TERM "$pid" 2>/dev/null || true  # already gone when the load killed it
  wait "$pid" 2>/dev/null || true
}

# Stores $1 rows of JSON readings from broker "bench" over 1,000 topics bench/t0000..0999,
# spread back from now at 34.56 s per 1,000 rows, then VACUUM ANALYZE. Needs the schema.
# Ids are reserved per hour as the writer does (one call per hour, not per row), in
# daily partitions made first.
load_rows() {
  psql_q "INSERT INTO culex.brokers (name) VALUES ('bench') ON CONFLICT DO NOTHING" >/dev/null
  psql_q "INSERT INTO culex.topics (name) SELECT 'bench/t' || lpad(i::text, 4, '0') FROM generate_series(0, 999) i" >/dev/null
  psql_q "SELECT count(culex.create_message_partition(now() - d * interval '1 day', 24))
    FROM generate_series(0, ceil($1 / 1000 * 34.56 / 86400)::integer + 1) d" >/dev/null
  psql_q "WITH r AS (SELECT g, now() - (g / 1000) * interval '34.56 seconds' AS at
                     FROM generate_series(0, $1 - 1) g),
    h AS (SELECT floor(extract(epoch FROM at) / 3600)::integer AS hour, count(*)::integer AS n
          FROM r GROUP BY 1),
    blocks AS (SELECT hour, culex.reserve_message_ids(hour, n) AS first FROM h)
    INSERT INTO culex.message_store (id, topic_id, payload, payload_json, qos, retain, client_id, broker_id, seq, received_at)
    SELECT blocks.first + row_number() OVER (PARTITION BY blocks.hour ORDER BY r.g) - 1,
           t.id, convert_to(j::text, 'UTF8'), j, 0, false, 'bench-device', b.id, r.g, r.at
    FROM r
    JOIN blocks ON blocks.hour = floor(extract(epoch FROM r.at) / 3600)::integer
    CROSS JOIN LATERAL (SELECT jsonb_build_object('v', (r.g % 997) / 10.0, 'seq', r.g) AS j) p
    JOIN culex.topics t ON t.name = 'bench/t' || lpad((r.g % 1000)::text, 4, '0')
    CROSS JOIN (SELECT id FROM culex.brokers WHERE name = 'bench') b" >/dev/null
  psql_q "VACUUM ANALYZE culex.message_store" >/dev/null
}
