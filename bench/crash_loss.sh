#!/usr/bin/env bash
# What a SIGKILL of the broker loses: QoS 1 load at RATE msg/s, the broker killed
# KILL_MS after the first publish, restarted on the same spool; then every message the
# broker had acknowledged is looked for in PostgreSQL.
# Usage: bench/crash_loss.sh [rate=20000] [kill_ms=5000]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-20000}
kill_ms=${2:-5000}
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster
spool="$work/spool"
make_spool_dir "$spool"

out="$work/load.txt"
run_broker with "plugin_opt_spool_dir $spool" --publishers 4 --payload 100 --topics 1000 \
  --messages $((rate * 60)) --qos 1 --rate "$rate" --kill-after-ms "$kill_ms" | tee "$out"

# Restart on the same configuration: the spool (if any) is written first.
mosquitto -c "$work/mosquitto-with.conf" 2>"$work/broker-restart.log" &
pid=$!
prev=-1
for _ in $(seq 60); do
  sleep 1
  now=$(psql_q "SELECT count(*) FROM culex.message_store")
  [ "$now" = "$prev" ] && [ -z "$(ls -A "$spool")" ] && break
  prev=$now
done
kill -TERM "$pid"; wait "$pid" || true

missing=0
while read -r client acked; do
  stored=$(psql_q "SELECT count(*) FROM culex.messages WHERE client_id = '$client'
                   AND (payload_json->>'seq')::bigint < $acked")
  missing=$((missing + acked - stored))
done < <(sed -n 's/^acked \(bench-[0-9]*\)=\([0-9]*\)$/\1 \2/p' "$out")
acked_total=$(sed -n 's/.* \([0-9]*\) messages acknowledged$/\1/p' "$out")
echo "acknowledged=$acked_total missing_after_restart=$missing" \
     "(= $(awk -v m="$missing" -v r="$rate" 'BEGIN { printf "%.1f", 1000 * m / r }') ms of traffic at $rate msg/s)"
