#!/usr/bin/env bash
# CPU time per stored message (issue 19's target: broker + PostgreSQL <= 6 us at 100,000
# QoS 1 msg/s): the same mosquitto without and with culex.so, QoS 1 at RATE msg/s for
# SECONDS, 100-byte JSON on 1,000 topics from 4 publishers; CPU seconds of the broker
# and of every PostgreSQL process (from /proc, until the last row is committed) divided
# by the messages. Then QoS 0 as fast as the publishers go.
# Usage: bench/cpu_per_message.sh [RATE] [SECONDS] [ROUNDS]   (defaults: 100000 60 2)
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-100000}
seconds=${2:-60}
rounds=${3:-2}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster
postmaster=$(head -n 1 "$pg_dir/data/postmaster.pid")
common=(--publishers 4 --payload 100 --topics 1000 --pg-pid "$postmaster")
summary='^---|throughput|puback|rows_stored|rows_persisted|cpu_us'
echo "== QoS 1 at $rate msg/s for $seconds s"
for round in $(seq "$rounds"); do
  run_broker without "" "${common[@]}" --messages $(( rate * seconds )) --qos 1 --rate "$rate"
  run_broker with "" "${common[@]}" --messages $(( rate * seconds )) --qos 1 --rate "$rate"
done 2>&1 | grep -E "$summary"
echo "== QoS 0 as fast as the publishers go, $(( rate * seconds )) messages"
for round in $(seq "$rounds"); do
  run_broker without "" "${common[@]}" --messages $(( rate * seconds )) --qos 0
  run_broker with "" "${common[@]}" --messages $(( rate * seconds )) --qos 0
done 2>&1 | grep -E "$summary"
