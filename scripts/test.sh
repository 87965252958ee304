#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL.
#
#   scripts/test.sh                 # every test
#   scripts/test.sh -p pgshape-e2e  # extra arguments go to `cargo test`
#
# Uses DATABASE_URL when it points at a reachable server; otherwise starts (or reuses) the
# throwaway sandbox cluster of scripts/pg-sandbox.sh. Tests create and drop their own databases.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install the Rust toolchain named in rust-toolchain.toml" >&2
  exit 2
fi

DATABASE_URL="$(scripts/pg-sandbox.sh start)"
export DATABASE_URL

# The end-to-end tests run the built binaries, so build them first.
cargo build --workspace --locked
cargo test --workspace --locked "$@"
