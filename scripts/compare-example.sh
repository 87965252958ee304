#!/usr/bin/env bash
# Rebuilds docs/compare-report-example.html: the production fixture's pack against the pack of
# a synthetic copy made from it (calibrate the chat spec → generate a band → load → extract).
#
#   scripts/compare-example.sh                 # fixture scale 0.1, band ci
#   SCALE=0.02 BAND=ci scripts/compare-example.sh
#
# Uses DATABASE_URL when it points at a reachable server, else the sandbox. Intermediate files
# go to out/compare-example/ (ignored by git); its two databases are dropped at the end. Exits
# with the comparison's code (0 all figures within thresholds, 1 some over).
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
cd "$(dirname "$0")/.."

SCALE="${SCALE:-0.1}"
BAND="${BAND:-ci}"
SEED="${SEED:-compare-example}"
OUT=out/compare-example
PROD_DB=pgshape_compare_production
SYNTH_DB=pgshape_compare_synthetic
HTML="${HTML:-docs/compare-report-example.html}"

SERVER_URL="${DATABASE_URL:-}"
if [[ -z "$SERVER_URL" ]] || ! psql -X -q "$SERVER_URL" -c 'SELECT 1' >/dev/null 2>&1; then
  SERVER_URL="$(scripts/pg-sandbox.sh start)"
fi
db_url() { # the server URL with another database name
  local base="${SERVER_URL%%\?*}" query=""
  [[ "$SERVER_URL" == *\?* ]] && query="?${SERVER_URL#*\?}"
  echo "${base%/*}/$1${query}"
}

cargo build --quiet --locked -p pgshape-sampler -p pgshape-generator -p pgshape-loader
BIN=target/debug

rm -rf "$OUT" && mkdir -p "$OUT"
cleanup() {
  for db in "$PROD_DB" "$SYNTH_DB"; do
    psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
for db in "$PROD_DB" "$SYNTH_DB"; do
  psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done
psql -X -q -v ON_ERROR_STOP=1 -v scale="$SCALE" -f scripts/production-fixture.sql "$(db_url "$PROD_DB")"
echo "production fixture loaded (scale $SCALE)" >&2

# A fixed example salt: on a real jump host it comes from the secret store. The same salt on
# both sides is not needed (category tokens are compared by rank), it only keeps the example
# stable.
export ANONYMIZATION_SALT="149ac3118af468bc162987f26812db94d7bab0d3f328ec2e4d07297fe1e2d9e9"  # a fixed example salt: the page is reproducible
DATABASE_URL="$(db_url "$PROD_DB")" "$BIN/pgshape-sampler" extract -q \
  --output "$OUT/production.json" --window-days 60

"$BIN/pgshape-generator" calibrate -q --spec specs/chat/spec.json --pack "$OUT/production.json" \
  --output "$OUT/spec-calibrated.json" >/dev/null
"$BIN/pgshape-generator" generate -q --spec "$OUT/spec-calibrated.json" --band "$BAND" \
  --seed "$SEED" --output "$OUT/dataset" >/dev/null
DATABASE_URL="$(db_url "$SYNTH_DB")" "$BIN/pgshape-loader" load -q --dataset "$OUT/dataset" \
  --schema synthetic --create-schema --environment ci --metadata-dir "$OUT/perf-data" >/dev/null
DATABASE_URL="$(db_url "$SYNTH_DB")" "$BIN/pgshape-sampler" extract -q --schema synthetic \
  --output "$OUT/synthetic.json" --window-days 60
unset ANONYMIZATION_SALT
echo "synthetic band $BAND generated, loaded and extracted" >&2

set +e
"$BIN/pgshape-generator" compare --production "$OUT/production.json" \
  --synthetic "$OUT/synthetic.json" --html "$HTML" --json "$OUT/compare.json" \
  | tee "$OUT/compare.txt"
status=${PIPESTATUS[0]}
set -e
echo "wrote $HTML (exit $status)" >&2
exit "$status"
