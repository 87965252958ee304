#!/usr/bin/env bash
# Tears down the newest pgshape load run on DATABASE_URL (or the PG* variables): drops what it
# created, empties what it filled, removes its records. Asks on a terminal first.
#
#   docs/perf-data/teardown.sh                      # newest run, with confirmation
#   docs/perf-data/teardown.sh --run ID --dry-run   # show what would be removed
#   docs/perf-data/teardown.sh --force --no-confirm # emergency
#
# Any argument is passed to `pgshape-loader teardown`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if command -v pgshape-loader >/dev/null 2>&1; then
  exec pgshape-loader teardown "$@"
elif [ -x "$repo/target/release/pgshape-loader" ]; then
  exec "$repo/target/release/pgshape-loader" teardown "$@"
else
  exec cargo run --quiet --release --manifest-path "$repo/Cargo.toml" -p pgshape-loader -- teardown "$@"
fi
