#!/usr/bin/env bash
# Benchmarks, measured against a baseline in the same run on this machine.
#
#   scripts/bench.sh generator   # generation rate vs the server's own COPY FROM of the same rows
#   scripts/bench.sh loader      # pgshape-loader vs psql \copy (FORMAT binary) of the same rows
#
# Options (environment): SPEC (specs/chat/spec.json), BAND (dev), TABLE (messages), SEED.
# Uses DATABASE_URL if reachable, else the sandbox. Prints a markdown table for
# docs/performance.md. Not part of the timed test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

SPEC="${SPEC:-specs/chat/spec.json}"
BAND="${BAND:-dev}"
TABLE="${TABLE:-messages}"
SEED="${SEED:-bench}"
WORK="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/pgshape-bench.XXXXXX")}"
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
machine() { echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), PostgreSQL $(psql -XAtc 'show server_version' "$DATABASE_URL")"; }

DATABASE_URL="$(scripts/pg-sandbox.sh start)"
export DATABASE_URL
cargo build --release --quiet --locked --workspace
BIN=target/release

# A table with the report's columns and types, no keys, no indexes (the "no indexes during
# load" state both sides are measured in).
bench_table() { # report.json table → CREATE TABLE statement
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = r["tables"][sys.argv[2]]
names = {"bigint": "bigint", "integer": "integer", "smallint": "smallint", "double": "double precision",
         "real": "real", "boolean": "boolean", "text": "text", "timestamptz": "timestamptz",
         "timestamp": "timestamp", "date": "date", "uuid": "uuid"}
cols = ", ".join(f'"{c}" {names[ty]}' for c, ty in zip(t["columns"], t["types"]))
print(f'DROP TABLE IF EXISTS pgshape_bench; CREATE TABLE pgshape_bench ({cols});')
PY
}

bench_generator() {
  echo "== generator: $TABLE of band $BAND, seed $SEED" >&2
  # 1. Generation, one thread, no output I/O (hash only); best of 3.
  best=""
  for _ in 1 2 3; do
    t0=$(now)
    out=$("$BIN/pgshape-generator" hash --spec "$SPEC" --band "$BAND" --seed "$SEED" --threads 1 --tables "$TABLE")
    t1=$(now)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
  done
  rows=$(echo "$out" | awk '{print $2}')
  gen_rate=$(rate "$rows" "$best")

  # 2. The server's own COPY FROM of the same rows, pre-built as binary files it reads itself.
  "$BIN/pgshape-generator" generate --spec "$SPEC" --band "$BAND" --seed "$SEED" --tables "$TABLE" --output "$WORK/ds" -q >/dev/null
  chmod -R a+rX "$WORK"
  report=$(ls "$WORK"/ds/report_*.json)
  psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$(bench_table "$report" "$TABLE")"
  {
    echo "BEGIN;"
    for f in "$WORK"/ds/"$TABLE"/*.bin; do echo "COPY pgshape_bench FROM '$f' (FORMAT binary);"; done
    echo "COMMIT;"
  } > "$WORK/copy.sql"
  best_copy=""
  for _ in 1 2 3; do
    psql -XqAt "$DATABASE_URL" -c "TRUNCATE pgshape_bench; CHECKPOINT;"
    t0=$(now)
    psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$WORK/copy.sql"
    t1=$(now)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    if [ -z "$best_copy" ] || awk -v a="$secs" -v b="$best_copy" 'BEGIN { exit !(a < b) }'; then best_copy=$secs; fi
  done
  loaded=$(psql -XqAt "$DATABASE_URL" -c "SELECT count(*) FROM pgshape_bench")
  [ "$loaded" = "$rows" ] || { echo "COPY loaded $loaded rows, expected $rows" >&2; exit 1; }
  copy_rate=$(rate "$rows" "$best_copy")
  psql -XqAt "$DATABASE_URL" -c "DROP TABLE pgshape_bench"

  echo
  echo "| date | machine | rows | generation, 1 thread (rows/s) | server COPY FROM binary (rows/s) | ratio |"
  echo "|---|---|---|---|---|---|"
  echo "| $(date -u +%Y-%m-%d) | $(machine) | $rows | $gen_rate | $copy_rate | $(ratio "$gen_rate" "$copy_rate")× |"
  echo
  echo "command: scripts/bench.sh generator (SPEC=$SPEC BAND=$BAND TABLE=$TABLE SEED=$SEED), best of 3 each"
}

case "${1:-}" in
  generator) bench_generator ;;
  loader)
    echo "the loader benchmark is added with the loader (issue 5)" >&2
    exit 2
    ;;
  *)
    echo "usage: scripts/bench.sh generator|loader" >&2
    exit 2
    ;;
esac
