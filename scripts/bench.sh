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

bench_loader() {
  echo "== loader: $TABLE of band $BAND, seed $SEED" >&2
  "$BIN/pgshape-generator" generate --spec "$SPEC" --band "$BAND" --seed "$SEED" --tables "$TABLE" --output "$WORK/ds" -q >/dev/null
  report=$(ls "$WORK"/ds/report_*.json)
  rows=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tables'][sys.argv[2]]['rows'])" "$report" "$TABLE")
  create=$(bench_table "$report" "$TABLE" | sed "s/pgshape_bench/pgshape_bench.$TABLE/g")
  reset() { psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS pgshape_bench CASCADE; DROP SCHEMA IF EXISTS _pgshape CASCADE; CREATE SCHEMA pgshape_bench;" -c "$create" -c "CHECKPOINT"; }

  # 1. psql \copy of the pre-built binary files over TCP, one connection; best of 3.
  { for f in "$WORK"/ds/"$TABLE"/*.bin; do echo "\\copy pgshape_bench.$TABLE FROM '$f' (FORMAT binary)"; done; } > "$WORK/copy.psql"
  best_psql=""
  for _ in 1 2 3; do
    reset
    t0=$(now); psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$WORK/copy.psql"; t1=$(now)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    if [ -z "$best_psql" ] || awk -v a="$secs" -v b="$best_psql" 'BEGIN { exit !(a < b) }'; then best_psql=$secs; fi
  done

  # 2. pgshape-loader streaming the same rows from the spec (no files), with 1 and with 2
  #    connections; the COPY phase from the run record (index rebuild, ANALYZE and hashing
  #    come after it).
  loader_best() { # jobs
  local best=""
  for _ in 1 2 3; do
    reset
    "$BIN/pgshape-loader" -q load --spec "$SPEC" --band "$BAND" --seed "$SEED" --tables "$TABLE" --schema pgshape_bench \
      --environment perf --jobs "$1" --metadata-dir "$WORK/meta" >/dev/null
    ms=$(psql -XqAt "$DATABASE_URL" -c "SELECT record->'timings_ms'->>'copy' FROM _pgshape.runs ORDER BY started_at DESC LIMIT 1")
    loaded=$(psql -XqAt "$DATABASE_URL" -c "SELECT count(*) FROM pgshape_bench.$TABLE")
    [ "$loaded" = "$rows" ] || { echo "the loader loaded $loaded rows, expected $rows" >&2; exit 1; }
    secs=$(awk -v m="$ms" 'BEGIN { print m / 1000 }')
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
  done
  echo "$best"
  }
  best_loader=$(loader_best 1)
  best_loader2=$(loader_best 2)
  reset >/dev/null
  psql -XqAt "$DATABASE_URL" -c "DROP SCHEMA pgshape_bench CASCADE; DROP SCHEMA IF EXISTS _pgshape CASCADE"

  psql_rate=$(rate "$rows" "$best_psql"); loader_rate=$(rate "$rows" "$best_loader"); loader_rate2=$(rate "$rows" "$best_loader2")
  echo
  echo "| date | machine | rows | psql \\copy binary file over TCP (rows/s) | pgshape-loader streaming, --jobs 1 (rows/s, ratio) | --jobs 2 (rows/s, ratio) |"
  echo "|---|---|---|---|---|---|"
  echo "| $(date -u +%Y-%m-%d) | $(machine) | $rows | $psql_rate | $loader_rate ($(ratio "$loader_rate" "$psql_rate")×) | $loader_rate2 ($(ratio "$loader_rate2" "$psql_rate")×) |"
  echo
  echo "command: scripts/bench.sh loader (SPEC=$SPEC BAND=$BAND TABLE=$TABLE SEED=$SEED), best of 3 each; same logged table without indexes"
}

case "${1:-}" in
  generator) bench_generator ;;
  loader) bench_loader ;;
  *)
    echo "usage: scripts/bench.sh generator|loader" >&2
    exit 2
    ;;
esac
