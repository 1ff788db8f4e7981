#!/usr/bin/env bash
# Latency of HTTP publish on an idle broker (issue 4's target: from the HTTP answer to a
# subscriber's receipt, p50 <= 5 ms and p99 <= 20 ms).
# Usage: bench/publish_latency.sh [count] [gap_ms]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-2000}
gap=${2:-20}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster
start_api_broker ""
echo "--- $count HTTP publishes, one at a time, ${gap} ms apart"
build-release/bench/publish_latency --http-port "$http_port" --mqtt-port "$mqtt_port" \
  --token "$token" --count "$count" --gap-ms "$gap"
