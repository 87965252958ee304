#!/usr/bin/env bash
# Benchmarks, measured against a baseline in the same run on this machine.
#
#   scripts/bench.sh generator   # generation rate vs the server's own COPY FROM of the same rows
#   scripts/bench.sh loader      # pgshape-loader vs psql \copy (FORMAT binary) of the same rows
#   scripts/bench.sh loader-e2e  # the whole band end to end: pgshape-loader load --dataset vs
#                                # the same recipe done with psql on the same pre-built files
#   scripts/bench.sh generator-runs  # `generator` RUNS (5) times in a row, a row each
#   scripts/bench.sh memory      # peak RSS of the three binaries by band (MEM_BANDS, "ci dev")
#   scripts/bench.sh sampler     # an exact extract of the chat fixture (SCALE, 1) and one at
#                                # --sample-percent 1: sequential scans per table (from
#                                # pg_stat_user_tables) and wall time, each against the exact one;
#                                # SAMPLER_BASELINE=path/to/an/older/pgshape-sampler adds that
#                                # binary's exact extract, run alternately, as the baseline
#
# Options (environment): SPEC (specs/chat/spec.json), BAND (dev), TABLE (messages), SEED,
# REPS (3: best of REPS for each contender; 2 saves time on the dev band), RUNS (5),
# MEM_BANDS ("ci dev"; "ci staging" loads ~190 M rows: ~32 GB of disk), MEM_SAMPLER_FLAGS (extra
# flags of the memory run's extract, e.g. "--sample-percent 1": an exact extract of staging
# takes about an hour here).
# Uses DATABASE_URL if reachable, else the sandbox. Prints a markdown table for
# docs/performance.md. Not part of the timed test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

SPEC="${SPEC:-specs/chat/spec.json}"
BAND="${BAND:-dev}"
TABLE="${TABLE:-messages}"
SEED="${SEED:-bench}"
REPS="${REPS:-3}"
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
  rm -rf "$WORK/ds"  # a previous run's (generator-runs)
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
  loader_best() { # jobs ("" for the loader's default)
  local best=""
  for _ in 1 2 3; do
    reset
    "$BIN/pgshape-loader" -q load --spec "$SPEC" --band "$BAND" --seed "$SEED" --tables "$TABLE" --schema pgshape_bench \
      --environment perf ${1:+--jobs "$1"} --metadata-dir "$WORK/meta" >/dev/null
    ms=$(psql -XqAt "$DATABASE_URL" -c "SELECT coalesce(record->'result'->'timings_ms', record->'timings_ms')->>'copy' FROM _pgshape.runs ORDER BY started_at DESC LIMIT 1")
    loaded=$(psql -XqAt "$DATABASE_URL" -c "SELECT count(*) FROM pgshape_bench.$TABLE")
    [ "$loaded" = "$rows" ] || { echo "the loader loaded $loaded rows, expected $rows" >&2; exit 1; }
    secs=$(awk -v m="$ms" 'BEGIN { print m / 1000 }')
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
  done
  echo "$best"
  }
  best_loader=$(loader_best 1)
  best_loader2=$(loader_best "")
  reset >/dev/null
  psql -XqAt "$DATABASE_URL" -c "DROP SCHEMA pgshape_bench CASCADE; DROP SCHEMA IF EXISTS _pgshape CASCADE"

  psql_rate=$(rate "$rows" "$best_psql"); loader_rate=$(rate "$rows" "$best_loader"); loader_rate2=$(rate "$rows" "$best_loader2")
  echo
  echo "| date | machine | rows | psql \\copy binary file over TCP (rows/s) | pgshape-loader streaming, --jobs 1 (rows/s, ratio) | default --jobs (rows/s, ratio) |"
  echo "|---|---|---|---|---|---|"
  echo "| $(date -u +%Y-%m-%d) | $(machine) | $rows | $psql_rate | $loader_rate ($(ratio "$loader_rate" "$psql_rate")×) | $loader_rate2 ($(ratio "$loader_rate2" "$psql_rate")×) |"
  echo
  echo "command: scripts/bench.sh loader (SPEC=$SPEC BAND=$BAND TABLE=$TABLE SEED=$SEED), best of 3 each; same logged table without indexes"
}

# The whole band, all tables, end to end, from the same pre-built binary files, into the same
# server with the same settings, best of REPS each (wall clock of the whole command):
#  (a) pgshape-loader load --dataset: DDL, keys/indexes/foreign keys set aside, every chunk's COPY
#      with its ledger row (first chunk of each table TRUNCATE + COPY FREEZE), keys and indexes
#      rebuilt, foreign keys added NOT VALID and validated in parallel, ANALYZE fused with the
#      row-hash scan, then its default checks (counts, foreign keys validated, content hashes
#      against the report) and the run record — with --jobs 1 and with the default;
#  (b) the pgbench recipe with psql, one connection: the same DDL, the same keys/indexes/foreign
#      keys dropped, per table in foreign-key order BEGIN; TRUNCATE; \copy ... (FORMAT binary,
#      FREEZE) of every chunk file; COMMIT, then keys, indexes, foreign keys (validated), ANALYZE.
# What (b) does not do: the ledger and run record, the row hash and checks after ANALYZE, resume
# (it freezes every chunk of a table in one transaction; the loader commits chunk by chunk, so
# only a table's first chunk is frozen). The loader's timings_ms breakdown is printed with the
# figures, and the ratio without its integrity checks next to the full one.
bench_loader_e2e() {
  echo "== loader-e2e: all tables of band $BAND, seed $SEED, best of $REPS" >&2
  "$BIN/pgshape-generator" generate --spec "$SPEC" --band "$BAND" --seed "$SEED" --output "$WORK/ds" -q >/dev/null
  report=$(ls "$WORK"/ds/report_*.json)
  rows=$(python3 -c "import json,sys; print(sum(t['rows'] for t in json.load(open(sys.argv[1]))['tables'].values()))" "$report")
  S=pgshape_bench
  reset() { psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $S CASCADE; DROP SCHEMA IF EXISTS _pgshape CASCADE;" -c "CHECKPOINT"; }
  # Counts against the report, whoever loaded.
  check_counts() { # who
    python3 - "$report" "$1" <<'PY' | psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -f - | awk -v who="$1" '$0 != "ok" { print who ": " $0 > "/dev/stderr"; bad = 1 } END { exit bad }'
import json, sys
r = json.load(open(sys.argv[1]))
for name in r["order"]:
    n = r["tables"][name]["rows"]
    print(f"SELECT CASE WHEN count(*) = {n} THEN 'ok' ELSE '{name}: ' || count(*) || ' rows, expected {n}' END FROM pgshape_bench.\"{name}\";")
PY
  }

  # The psql recipe's scripts, made once from the catalog the dataset's DDL gives (untimed):
  # the keys, indexes and foreign keys the loader sets aside, dropped and then rebuilt.
  reset
  psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "CREATE SCHEMA $S; SET search_path = $S;" -f "$WORK/ds/schema.sql"
  defs() { psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
  con="FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = '$S'"
  idx="FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class r ON r.oid = i.indrelid JOIN pg_namespace n ON n.oid = r.relnamespace
       WHERE n.nspname = '$S' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
  {
    echo "\\set ON_ERROR_STOP 1"
    echo "SET client_min_messages = warning; CREATE SCHEMA $S; SET search_path = $S;"
    echo "\\i $WORK/ds/schema.sql"
    defs "SELECT format('ALTER TABLE %I.%I DROP CONSTRAINT %I;', n.nspname, r.relname, c.conname) $con AND c.contype = 'f' ORDER BY 1"
    defs "SELECT format('ALTER TABLE %I.%I DROP CONSTRAINT %I;', n.nspname, r.relname, c.conname) $con AND c.contype IN ('p', 'u') ORDER BY 1"
    defs "SELECT format('DROP INDEX %I.%I;', n.nspname, ic.relname) $idx ORDER BY 1"
    python3 - "$report" "$WORK/ds" <<'PY'
import json, sys
r, d = json.load(open(sys.argv[1])), sys.argv[2]
for name in r["order"]:
    t = r["tables"][name]
    cols = ", ".join(f'"{c}"' for c in t["columns"])
    print(f'BEGIN;\nTRUNCATE pgshape_bench."{name}";')
    for c in t["chunks"]:
        print(f"\\copy pgshape_bench.\"{name}\" ({cols}) FROM '{d}/{c['file']}' (FORMAT binary, FREEZE)")
    print("COMMIT;")
PY
    defs "SELECT format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s;', n.nspname, r.relname, c.conname, pg_get_constraintdef(c.oid)) $con AND c.contype IN ('p', 'u') ORDER BY 1"
    defs "SELECT pg_get_indexdef(i.indexrelid) || ';' $idx ORDER BY 1"
    defs "SELECT format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s;', n.nspname, r.relname, c.conname, pg_get_constraintdef(c.oid)) $con AND c.contype = 'f' ORDER BY 1"
    python3 -c "import json,sys; [print('ANALYZE pgshape_bench.\"%s\";' % t) for t in json.load(open(sys.argv[1]))['order']]" "$report"
  } > "$WORK/recipe.psql"

  best_of() { # command... → best wall seconds (the command runs after reset)
    local best="" t0 t1 secs
    for _ in $(seq "$REPS"); do
      reset
      t0=$(now); "$@"; t1=$(now)
      secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
      if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then
        best=$secs
        [ "$1" = loader ] && psql -XqAt "$DATABASE_URL" -c "SELECT coalesce(record->'result'->>'timings_ms', record->>'timings_ms') FROM _pgshape.runs" > "$WORK/timings.$2"
      fi
      [ "$1" = loader ] && { st=$(psql -XqAt "$DATABASE_URL" -c "SELECT status FROM _pgshape.runs"); [ "$st" = done ] || { echo "the loader's run ended $st" >&2; exit 1; }; }
      check_counts "$1" >&2 || exit 1
    done
    echo "$best"
  }
  recipe() { psql -XqAt -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$WORK/recipe.psql"; }
  loader() { # jobs ("default" for the loader's default)
    local jobs=(); [ "$1" = default ] || jobs=(--jobs "$1")
    "$BIN/pgshape-loader" -q load --dataset "$WORK/ds" --schema "$S" --create-schema --environment perf "${jobs[@]}" \
      --metadata-dir "$WORK/meta" >/dev/null
  }
  best_psql=$(best_of recipe)
  best_l1=$(best_of loader 1)
  best_ld=$(best_of loader default)
  reset >/dev/null
  psql -XqAt "$DATABASE_URL" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $S CASCADE; DROP SCHEMA IF EXISTS _pgshape CASCADE"

  # Ratio without the loader's own checks (the checks step), which the recipe does not do.
  checks_s() { python3 -c "import json,sys; t=json.load(open(sys.argv[1])); print(t.get('checks', t.get('integrity', 0) + t.get('content', 0)) / 1000)" "$1"; }
  bare() { awk -v w="$1" -v c="$2" 'BEGIN { print w - c }'; }
  c1=$(checks_s "$WORK/timings.1"); cd_=$(checks_s "$WORK/timings.default")
  secs() { awk -v s="$1" 'BEGIN { printf "%.1f s", s }'; }
  echo
  echo "| date | machine | rows (all tables) | psql recipe, 1 connection | pgshape-loader --jobs 1 (ratio; without its checks) | pgshape-loader default --jobs (ratio; without its checks) |"
  echo "|---|---|---|---|---|---|"
  echo "| $(date -u +%Y-%m-%d) | $(machine) | $rows | $(secs "$best_psql") | $(secs "$best_l1") ($(ratio "$best_l1" "$best_psql")×; $(ratio "$(bare "$best_l1" "$c1")" "$best_psql")×) | $(secs "$best_ld") ($(ratio "$best_ld" "$best_psql")×; $(ratio "$(bare "$best_ld" "$cd_")" "$best_psql")×) |"
  echo
  echo "loader timings_ms, best run: --jobs 1 $(cat "$WORK/timings.1"); default $(cat "$WORK/timings.default")"
  echo "command: scripts/bench.sh loader-e2e (SPEC=$SPEC BAND=$BAND SEED=$SEED REPS=$REPS), best of $REPS each, wall clock; target: loader / psql <= 1.15 with the default checks on"
  echo "machine load: $(uptime)"
}

# Peak RSS (`/usr/bin/time -f %M`) of each binary on each band of MEM_BANDS, the smallest band
# the baseline: the generator hashing the band (2 threads, no output), the loader streaming it
# into a fresh database (default --jobs), the sampler extracting that database (exact, no
# sampling). Memory must not grow with rows: the ratios should stay near 1.
bench_memory() {
  local bands=(${MEM_BANDS:-ci dev}) base_g="" base_l="" base_s="" db="pgshape_bench_mem"
  local server="${DATABASE_URL%/*}"
  rss() { # command... → peak RSS in kB (the command's output is discarded)
    /usr/bin/time -f %M -o "$WORK/rss" "$@" >/dev/null 2>"$WORK/rss.err" || { cat "$WORK/rss.err" >&2; exit 1; }
    tail -1 "$WORK/rss"
  }
  mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
  vs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
  echo
  echo "| band | rows (all tables) | generator hash | loader load | sampler extract | vs ${bands[0]} (g / l / s) |"
  echo "|---|---|---|---|---|---|"
  for band in "${bands[@]}"; do
    echo "== memory: band $band" >&2
    g=$(rss "$BIN/pgshape-generator" hash --spec "$SPEC" --band "$band" --seed "$SEED" --threads 2)
    rows=$("$BIN/pgshape-generator" hash --spec "$SPEC" --band "$band" --seed "$SEED" --threads 2 | awk '{ s += $2 } END { print s }')
    psql -XqAt "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    l=$(DATABASE_URL="$server/$db" rss "$BIN/pgshape-loader" -q load --spec "$SPEC" --band "$band" --seed "$SEED" \
      --schema public --create-schema --environment perf --metadata-dir "$WORK/meta")
    s=$(DATABASE_URL="$server/$db" ANONYMIZATION_SALT="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
      rss "$BIN/pgshape-sampler" -q extract --output "$WORK/pack-$band.json" ${MEM_SAMPLER_FLAGS:-})
    size=$(psql -XqAt "$server/$db" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
    echo "== band $band: database $size" >&2
    [ -n "$base_g" ] || { base_g=$g; base_l=$l; base_s=$s; }
    echo "| $band | $rows | $(mb "$g") | $(mb "$l") | $(mb "$s") | $(vs "$g" "$base_g") / $(vs "$l" "$base_l") / $(vs "$s" "$base_s") |"
  done
  psql -XqAt "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  echo
  echo "command: scripts/bench.sh memory (SPEC=$SPEC MEM_BANDS=\"${bands[*]}\" MEM_SAMPLER_FLAGS=\"${MEM_SAMPLER_FLAGS:-}\" SEED=$SEED), /usr/bin/time -f %M, release build, $(date -u +%Y-%m-%dT%H:%MZ), $(machine)"
  echo "machine load: $(uptime)"
}

# The sampler on the production fixture (scripts/production-fixture.sql at SCALE): per
# table the sequential scans an extract makes (pg_stat_user_tables.seq_scan before and after;
# the statistics are flushed by a new session) and the wall time, exact (--no-dp, the scan
# count issue 14 bounds at 2) and with --sample-percent 1, best of REPS.
bench_sampler() {
  local scale="${SCALE:-1}" db="pgshape_bench_sampler" server="${DATABASE_URL%/*}"
  local url="$server/$db" salt
  salt="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "== sampler: chat fixture at scale $scale" >&2
  psql -XqAt "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  psql -XqAt -v ON_ERROR_STOP=1 -v scale="$scale" -f scripts/production-fixture.sql "$url" >/dev/null
  psql -XqAt "$url" -c "VACUUM ANALYZE"
  scans() { psql -XqAt -F ' ' "$url" -c "SELECT relname, seq_scan FROM pg_stat_user_tables ORDER BY relname"; }
  run() { # label, binary, extra flags... → prints the best seconds, leaves per-table scans in $WORK/scans.label
    local label=$1 exe=$2 best="" t0 t1 secs; shift 2
    for _ in $(seq "$REPS"); do
      scans > "$WORK/before"
      t0=$(now)
      DATABASE_URL="$url" ANONYMIZATION_SALT="$salt" PGSHAPE_NOW=2026-12-02T12:00:00Z \
        "$exe" -q extract --output "$WORK/pack-$label.json" --window-days 60 "$@" >/dev/null
      t1=$(now)
      sleep 1 # the backend's statistics reach pg_stat at its exit
      scans > "$WORK/after"
      join "$WORK/before" "$WORK/after" | awk '{ print $1, $3 - $2 }' > "$WORK/scans.$label"
      secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
      if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
    done
    echo "$best"
  }
  exact=$(run exact "$BIN/pgshape-sampler" --no-dp)
  sampled=$(run sampled "$BIN/pgshape-sampler" --no-dp --sample-percent 1)
  rows=$(psql -XqAt "$url" -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables")
  if [ -n "${SAMPLER_BASELINE:-}" ]; then
    # The baseline and this build alternate (best of REPS each), so load hits both alike.
    base=$(run baseline "$SAMPLER_BASELINE" --no-dp)
    again=$(run exact "$BIN/pgshape-sampler" --no-dp)
    if awk -v a="$again" -v b="$exact" 'BEGIN { exit !(a < b) }'; then exact=$again; fi
    echo
    echo "| exact extract, this build | baseline ($SAMPLER_BASELINE) | speed-up | seq scans per table, this build (baseline) |"
    echo "|---|---|---|---|"
    per=$(join "$WORK/scans.exact" "$WORK/scans.baseline" | awk '{ printf "%s%s %d (%d)", sep, $1, $2, $3; sep = ", " }')
    same=$(cmp -s <(grep -v tool_version "$WORK/pack-exact.json") <(grep -v tool_version "$WORK/pack-baseline.json") && echo "same pack" || echo "PACKS DIFFER")
    echo "| $(awk -v s="$exact" 'BEGIN { printf "%.1f s", s }') | $(awk -v s="$base" 'BEGIN { printf "%.1f s", s }') | $(ratio "$base" "$exact")× ($same) | $per |"
  fi
  echo
  echo "| date | machine | fixture rows | exact extract | --sample-percent 1 (ratio) | seq scans per table, exact (sampled) |"
  echo "|---|---|---|---|---|---|"
  per=$(join "$WORK/scans.exact" "$WORK/scans.sampled" | awk '{ printf "%s%s %d (%d)", sep, $1, $2, $3; sep = ", " }')
  echo "| $(date -u +%Y-%m-%d) | $(machine) | $rows | $(awk -v s="$exact" 'BEGIN { printf "%.1f s", s }') | $(awk -v s="$sampled" 'BEGIN { printf "%.1f s", s }') ($(ratio "$sampled" "$exact")×) | $per |"
  echo
  echo "command: scripts/bench.sh sampler (SCALE=$scale REPS=$REPS), best of $REPS, release build, commit $(git rev-parse --short HEAD); target (issue 14): at most 2 seq scans per table in an exact run"
  echo "machine load: $(uptime)"
  psql -XqAt "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}

case "${1:-}" in
  sampler) bench_sampler ;;
  generator) bench_generator ;;
  generator-runs) for i in $(seq "${RUNS:-5}"); do echo "== run $i of ${RUNS:-5}" >&2; bench_generator; done ;;
  memory) bench_memory ;;
  loader) bench_loader ;;
  loader-e2e) bench_loader_e2e ;;
  *)
    echo "usage: scripts/bench.sh generator|generator-runs|loader|loader-e2e|memory|sampler" >&2
    exit 2
    ;;
esac
