#!/usr/bin/env bash
# One with-culex load run against a fresh cluster, for comparing a schema or option
# change. Usage:
#   bench/ingest_variant.sh "<plugin_opt lines, \n-separated>" "<SQL run after the schema exists>" LOAD_ARGS...
# Example (the unique-index experiment in docs/benchmarks.md):
#   bench/ingest_variant.sh "" "CREATE UNIQUE INDEX ON culex.message_store (received_at, broker_id, seq)" \
#     --publishers 4 --messages 600000 --qos 0 --topics 1000
set -euo pipefail
cd "$(dirname "$0")/.."
extra=$1 sql=$2
shift 2
source bench/lib.sh
trap cleanup EXIT
build_release
start_cluster
run_broker with "$extra" --publishers 1 --messages 100 --qos 1 --topics 10 >/dev/null  # creates the schema
if [ -n "$sql" ]; then pg_psql "$pg_port" -q -c "$sql"; fi
run_broker with "$extra" "$@"
