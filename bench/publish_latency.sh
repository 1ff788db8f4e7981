#!/usr/bin/env bash
# Latency of HTTP publish on an idle broker (issue 4's target: from the HTTP answer to a
# subscriber's receipt, p50 <= 5 ms and p99 <= 20 ms).
# Usage: bench/publish_latency.sh [count] [gap_ms]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-2000}
gap=${2:-20}
source bench/lib.sh
trap 'kill $broker_pid 2>/dev/null || true; cleanup' EXIT
build_release
start_cluster
http_port=$(free_port)
mqtt_port=$(free_port)
token=bench-admin-token-0123456789
cat >"$work/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
plugin $work/culex.so
plugin_opt_db_conninfo $conninfo
plugin_opt_http_listen 127.0.0.1:$http_port
plugin_opt_admin_token $token
CONF
mosquitto -c "$work/mosquitto.conf" 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$http_port") 2>/dev/null && break; sleep 0.1; done
echo "--- $count HTTP publishes, one at a time, ${gap} ms apart"
build-release/bench/publish_latency --http-port "$http_port" --mqtt-port "$mqtt_port" \
  --token "$token" --count "$count" --gap-ms "$gap"
