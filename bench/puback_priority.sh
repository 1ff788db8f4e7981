#!/usr/bin/env bash
# PUBACK latency at 20,000 QoS 1 msg/s (issue 19's target: p99 within 1.2x of plain
# Mosquitto), with Culex's own threads at the broker's priority and below it
# (plugin_opt_worker_nice, plugin_opt_worker_sched), alternating in ROUNDS rounds:
# first with everything sharing both cores, then pinned: the broker on CPU 0,
# PostgreSQL and the load generator on CPU 1 (a database with cores of its own).
# Usage: bench/puback_priority.sh [MESSAGES] [ROUNDS]   (defaults: 400,000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-400000}
rounds=${2:-3}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster

load_args=(--publishers 4 --payload 100 --topics 1000 --messages "$messages" --qos 1 --rate 20000)
variants=("" "plugin_opt_worker_nice 10" "plugin_opt_worker_sched batch"
          "plugin_opt_worker_nice 10\nplugin_opt_worker_sched batch")
one_round() {
  run_broker without "" "${load_args[@]}"
  for v in "${variants[@]}"; do run_broker with "$v" "${load_args[@]}"; done
}
summary='^---|puback_latency|rows_stored|broker_throughput'
echo "== sharing both cores"
for round in $(seq "$rounds"); do one_round; done 2>&1 | grep -E "$summary"
echo "== pinned: broker on CPU 0; PostgreSQL and the load generator on CPU 1"
# The postmaster and the processes it has started; backends forked later inherit it.
postmaster=$(head -n 1 "$pg_dir/data/postmaster.pid")
for pid in "$postmaster" $(pgrep -P "$postmaster"); do taskset -p -c 1 "$pid" >/dev/null; done
broker_cpus=0 load_cpus=1
for round in $(seq "$rounds"); do one_round; done 2>&1 | grep -E "$summary"
