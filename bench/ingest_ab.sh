#!/usr/bin/env bash
# Ingest of this checkout's culex.so against an older commit's, alternating in one run
# so both see the same machine. Each run gets a fresh cluster. Usage:
#   bench/ingest_ab.sh OLD_COMMIT [ROUNDS] [LOAD_ARGS...]
# Default load: 4 publishers, QoS 0, 100-byte text over 1,000 topics, 600,000 messages.
set -euo pipefail
cd "$(dirname "$0")/.."
old_commit=${1:?usage: bench/ingest_ab.sh OLD_COMMIT [ROUNDS] [LOAD_ARGS...]}
rounds=${2:-2}
shift $(($# < 2 ? $# : 2))
load_args=("$@")
if [ ${#load_args[@]} -eq 0 ]; then
  load_args=(--publishers 4 --messages 600000 --qos 0 --topics 1000 --payload 100 --payload-kind text)
fi
source bench/lib.sh
trap 'remove_old_tree; cleanup' EXIT

build_old_and_new "$old_commit"

for round in $(seq "$rounds"); do
  for side in old new; do
    cp "$work/culex-$side.so" "$work/culex.so"
    start_cluster
    echo "=== $side ($([ "$side" = old ] && echo "$old_commit" || git rev-parse --short HEAD)), round $round"
    run_broker with "" "${load_args[@]}"
    stop_cluster
  done
done
