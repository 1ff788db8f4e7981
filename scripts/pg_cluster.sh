# A private PostgreSQL cluster on 127.0.0.1, for scripts/run and the benchmarks in
# bench/ (the C++ tests have their own, tests/integration/support/pg_cluster.cpp).
# Source it; it defines pg_bin and the functions below and runs nothing.
#
# PostgreSQL refuses to run as root: as root, the cluster's files belong to, and its
# programs run as, the user postgres (the postgresql package creates it).

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_cluster_create DIR: a cluster in DIR/data unless one is there (initdb's output goes
# to DIR/initdb.log). DIR also holds the server's socket and log.
pg_cluster_create() {
  local dir=$1
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "culex: user postgres cannot write $dir (PostgreSQL refuses to run as root); use a directory it can reach" >&2
      return 1
    fi
  fi
  [ -f "$dir/data/PG_VERSION" ] && return 0
  as_postgres "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log"
}

# pg_cluster_start DIR PORT [SETTING=VALUE ...]: starts DIR's cluster on 127.0.0.1:PORT
# and waits until it accepts connections; the log is DIR/postgres.log.
pg_cluster_start() {
  local dir=$1 port=$2 setting
  shift 2
  local options="-p $port -k $dir -c listen_addresses=127.0.0.1"
  for setting in "$@"; do options+=" -c $setting"; done
  as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -o "$options" start >/dev/null
}

# pg_cluster_stop DIR: a fast shutdown, if the cluster runs.
pg_cluster_stop() {
  local dir=$1
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
  fi
}

# pg_psql PORT ARGS...: psql as postgres against the cluster on PORT.
pg_psql() {
  local port=$1
  shift
  as_postgres "$pg_bin/psql" -h 127.0.0.1 -p "$port" -U postgres "$@"
}
