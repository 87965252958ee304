#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and the demo.
#
#   scripts/pg-sandbox.sh start     # start (or reuse) the sandbox; prints its URL on stdout
#   scripts/pg-sandbox.sh url       # the URL of the running sandbox
#   scripts/pg-sandbox.sh status    # human-readable state
#   scripts/pg-sandbox.sh stop      # stop it (data kept)
#   scripts/pg-sandbox.sh restart   # restart it (fast shutdown: sessions are cut, as in an outage)
#   scripts/pg-sandbox.sh destroy   # stop it and delete its data
#
# PGSANDBOX_DIR (default: .pgsandbox in the checkout) holds a sandbox's state; another
# directory gives another, independent cluster (the tests restart one of their own).
#
# When DATABASE_URL is set and the server answers, `start` and `url` print it and touch
# nothing else. Otherwise the script finds the machine's PostgreSQL server binaries
# (`pg_config --bindir`, /usr/lib/postgresql/*/bin), installs the distribution's `postgresql`
# package when there are none and it may (root with apt-get), and runs a cluster that listens on
# 127.0.0.1 only, on a free port, with trust authentication (it is throwaway: never use this for
# anything else). As root it runs the server as the `postgres` user; when that user cannot
# reach the checkout (a clone under /root, say) the cluster lives under the system temp dir.
# Messages go to stderr; stdout carries only the URL.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
state_dir="${PGSANDBOX_DIR:-$repo/.pgsandbox}"
state_file="$state_dir/state"

say() { printf 'pg-sandbox: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

external_url() {
  [ -n "${DATABASE_URL:-}" ] || return 1
  command -v psql >/dev/null 2>&1 || return 1
  psql -X -q -At -c 'select 1' "$DATABASE_URL" >/dev/null 2>&1 || return 1
  printf '%s\n' "$DATABASE_URL"
}

find_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

install_server() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 ||
    die "no PostgreSQL server binaries found; install the 'postgresql' package (or set DATABASE_URL)"
  say "installing PostgreSQL from the distribution's packages"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package from starting a cluster of its own: we only use ours.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq >&2
  apt-get install -y -qq postgresql postgresql-contrib >&2
}

# Runs a command as the server's owner: the postgres user when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The directory the cluster lives in, chosen once and remembered.
cluster_dir() {
  if [ -f "$state_file" ] && grep -q '^dir=' "$state_file"; then
    sed -n 's/^dir=//p' "$state_file"
    return
  fi
  local dir="$state_dir/cluster"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
      rmdir "$dir" 2>/dev/null || true
      local hash
      hash="$(printf '%s' "$state_dir" | sha256sum | cut -c1-12)"
      dir="${TMPDIR:-/tmp}/pgshape-sandbox-$hash"
      mkdir -p "$dir"
      chown postgres "$dir"
      chmod 700 "$dir"
      say "the postgres user cannot reach $state_dir; the cluster lives in $dir"
    fi
  fi
  echo "$dir"
}

state_get() { if [ -f "$state_file" ]; then sed -n "s/^$1=//p" "$state_file" | tail -n 1; fi; }

save_state() { # dir port bindir
  mkdir -p "$state_dir"
  printf 'dir=%s\nport=%s\nbindir=%s\n' "$1" "$2" "$3" > "$state_file"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local p
  for p in $(seq 54330 54429); do
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  die "no free port in 54330-54429"
}

url_for() { echo "postgresql://postgres@127.0.0.1:$1/postgres"; }

running() { # dir bindir
  [ -f "$1/data/postmaster.pid" ] && as_owner "$2/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

start() {
  if external_url; then return 0; fi
  local bindir dir port
  bindir="$(state_get bindir)"
  [ -n "$bindir" ] && [ -x "$bindir/pg_ctl" ] || bindir="$(find_bindir || true)"
  if [ -z "$bindir" ]; then
    install_server
    bindir="$(find_bindir)" || die "PostgreSQL was installed but its binaries were not found"
  fi
  dir="$(cluster_dir)"
  port="$(state_get port)"
  if running "$dir" "$bindir"; then
    url_for "$port"
    return 0
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "initdb in $dir/data ($("$bindir/postgres" --version))"
    as_owner "$bindir/initdb" -D "$dir/data" --auth=trust --username=postgres \
      --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  if [ -z "$port" ] || ! port_free "$port"; then port="$(pick_port)"; fi
  save_state "$dir" "$port" "$bindir"
  cat > "$dir/data/postgresql.auto.conf" <<EOF
# Written by scripts/pg-sandbox.sh: a throwaway cluster, loopback only, durability off.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = '256MB'
max_wal_size = '4GB'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_preload_libraries = ''
EOF
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { tail -n 30 "$dir/server.log" >&2; die "the server did not start"; }
  say "started on 127.0.0.1:$port"
  url_for "$port"
}

stop() {
  if external_url >/dev/null; then return 0; fi
  local dir bindir
  dir="$(state_get dir)"; bindir="$(state_get bindir)"
  [ -n "$dir" ] && [ -n "$bindir" ] || { say "no sandbox"; return 0; }
  if running "$dir" "$bindir"; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    say "stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  url)
    if external_url; then exit 0; fi
    dir="$(state_get dir)"; bindir="$(state_get bindir)"
    [ -n "$dir" ] && running "$dir" "$bindir" || die "the sandbox is not running: scripts/pg-sandbox.sh start"
    url_for "$(state_get port)"
    ;;
  status)
    if external_url >/dev/null; then say "using DATABASE_URL"; exit 0; fi
    dir="$(state_get dir)"; bindir="$(state_get bindir)"
    if [ -n "$dir" ] && running "$dir" "$bindir"; then
      say "running: $(url_for "$(state_get port)"), data in $dir/data"
    else
      say "not running"
    fi
    ;;
  stop) stop ;;
  restart)
    if external_url >/dev/null; then die "DATABASE_URL points at a server this script does not own"; fi
    dir="$(state_get dir)"; bindir="$(state_get bindir)"
    [ -n "$dir" ] && running "$dir" "$bindir" || die "the sandbox is not running: scripts/pg-sandbox.sh start"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null ||
      { tail -n 30 "$dir/server.log" >&2; die "the server did not restart"; }
    say "restarted"
    ;;
  destroy)
    stop
    dir="$(state_get dir)"
    [ -n "$dir" ] && rm -rf "$dir"
    rm -rf "$state_dir"
    say "destroyed"
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
