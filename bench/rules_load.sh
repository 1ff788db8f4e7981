#!/usr/bin/env bash
# Rules under ingest load: the same load with no rules and with 1,000 rules, alternating,
# each run against a fresh cluster (one run of this script compares them).
#
# The 1,000 rules: 980 on `bench/+/<j>` with a JSON condition that never holds (so every
# load message is parsed and tested by one rule), 10 on `bench/#` with a LIKE that never
# holds (every message scanned ten times), 9 on the lag probes' topic that never fire, and
# one that fires a webhook for each probe (1 % of the load) to a local receiver.
# Prints the load tool's figures per run, then deliveries by state and the publish ->
# webhook latency of the firing rule.
#
# Usage: bench/rules_load.sh [ROUNDS] LOAD_ARGS...
# Example (docs/benchmarks.md):
#   bench/rules_load.sh 2 --publishers 4 --messages 600000 --qos 0 --topics 1000 \
#     --rate 20000 --payload-kind json
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
shift
source bench/lib.sh
receiver_pid=""
trap 'if [ -n "$receiver_pid" ]; then kill "$receiver_pid" 2>/dev/null || true; fi; cleanup' EXIT
build_release

recv_http=$(free_port)
recv_smtp=$(free_port)
/usr/bin/python3 tests/integration/receivers/receivers.py --http-port "$recv_http" \
  --smtp-port "$recv_smtp" >"$work/receivers.log" 2>&1 &
receiver_pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$recv_http") 2>/dev/null && break; sleep 0.1; done

rules_sql="
INSERT INTO culex.rules (name, topic_filter, condition, actions)
SELECT 'json-' || j, 'bench/+/' || j, '{\"where\": [\"seq<0\"]}',
       '[{\"type\": \"republish\", \"topic\": \"never\"}]' FROM generate_series(0, 979) j;
INSERT INTO culex.rules (name, topic_filter, condition, actions)
SELECT 'like-' || j, 'bench/#', ('{\"like\": \"%never-present-' || j || '%\"}')::jsonb,
       '[{\"type\": \"republish\", \"topic\": \"never\"}]' FROM generate_series(0, 9) j;
INSERT INTO culex.rules (name, topic_filter, condition, actions)
SELECT 'probe-quiet-' || j, 'bench/probe/#', '{\"where\": [\"probe=false\"]}',
       '[{\"type\": \"republish\", \"topic\": \"never\"}]' FROM generate_series(0, 8) j;
INSERT INTO culex.rules (name, topic_filter, condition, actions)
VALUES ('probe-webhook', 'bench/probe/#', '{\"where\": [\"probe=true\"]}',
        '[{\"type\": \"webhook\", \"url\": \"http://127.0.0.1:$recv_http/ok/probe\"}]');"

opts="plugin_opt_delivery_allow 127.0.0.1"
for round in $(seq "$rounds"); do
  for variant in none rules; do
    start_cluster
    run_broker with "$opts" --publishers 1 --messages 100 --qos 1 --topics 10 >/dev/null  # schema
    if [ "$variant" = rules ]; then
      psql_q "$rules_sql" >/dev/null
      echo "rules: $(psql_q 'SELECT count(*) FROM culex.rules')"
    fi
    echo "=== round $round, $variant"
    run_broker with "$opts" "$@"
    if [ "$variant" = rules ]; then
      echo "deliveries: $(psql_q "SELECT string_agg(state || '=' || n, ' ') FROM (SELECT state, count(*) n FROM culex.deliveries GROUP BY state) s")"
      # Publish -> webhook arrival, from the probe's own timestamp (µs) and the receiver's clock.
      curl -s "http://127.0.0.1:$recv_http/_requests" | /usr/bin/python3 -c '
import base64, json, sys
lat = []
for r in json.load(sys.stdin):
    if r["path"] != "/ok/probe": continue
    m = json.loads(json.loads(base64.b64decode(r["body"]))["message"]["payload"])
    lat.append(r["at"] * 1000 - m["ts"] / 1000)
lat.sort()
if lat:
    print("webhooks=%d publish_to_webhook_ms_p50=%.1f p99=%.1f max=%.1f" % (
        len(lat), lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]))'
      curl -s -X POST "http://127.0.0.1:$recv_http/_reset" >/dev/null || true
    fi
    stop_cluster
  done
done
