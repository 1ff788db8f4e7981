#!/usr/bin/env bash
# Ingest benchmark: the same mosquitto binary without and with culex.so, under the
# same load, in one run. Prints the figures recorded in docs/benchmarks.md.
# Usage: bench/run_ingest.sh [messages_qos0] [messages_qos1]
set -euo pipefail
cd "$(dirname "$0")/.."
n0=${1:-1000000}
n1=${2:-400000}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster

common=(--publishers 4 --payload 100 --topics 1000)
echo "== QoS 0, 100-byte text payloads, 1000 topics, as fast as possible"
run_broker without "" "${common[@]}" --messages "$n0" --qos 0 --payload-kind text
run_broker with    "" "${common[@]}" --messages "$n0" --qos 0 --payload-kind text
echo "== QoS 0, 100-byte JSON payloads, as fast as possible, with and without the jsonb copy"
run_broker with    "" "${common[@]}" --messages "$n0" --qos 0 --payload-kind json
run_broker with    "plugin_opt_store_json false" "${common[@]}" --messages "$n0" --qos 0 --payload-kind json
echo "== QoS 1 at 20,000 msg/s, 100-byte JSON payloads (three alternating pairs: tail latency is noisy)"
for round in 1 2 3; do
  run_broker without "" "${common[@]}" --messages "$n1" --qos 1 --rate 20000
  run_broker with    "" "${common[@]}" --messages "$n1" --qos 1 --rate 20000
done
