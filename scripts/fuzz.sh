#!/usr/bin/env bash
# The long run of the hostile-input property tests (issue 18): every reader of a file or a
# stored document (spec, pack, policy, generation report, run record, chunk files) fed damaged
# copies of valid documents, round after round, for FUZZ_SECONDS (default 600) under a
# virtual-memory limit (FUZZ_VMEM_KB, default 4 GiB), so that an allocation sized by an
# untrusted number aborts the run instead of swapping. Not part of CI.
#
#   scripts/fuzz.sh                  # ten minutes
#   FUZZ_SECONDS=60 scripts/fuzz.sh  # one minute
#
# Needs DATABASE_URL (or the sandbox: scripts/pg-sandbox.sh start). Prints the cases run per
# reader and in all; exits non-zero on the first failure (a panic, an abort, a message that
# does not name the file, a damaged document accepted).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-600}
cases=${FUZZ_CASES_PER_ROUND:-200}
vmem=${FUZZ_VMEM_KB:-4194304}
export DATABASE_URL=${DATABASE_URL:-$(scripts/pg-sandbox.sh start)}

cargo build --workspace --locked --quiet
cargo test -p pgshape-e2e --test faults_parsers --locked --no-run --quiet

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
round=0 total=0
while (( $(date +%s) - start < seconds )); do
  round=$((round + 1))
  # A new random seed each round (proptest draws one per run without a persisted failure).
  if ! ( ulimit -v "$vmem"; PROPTEST_CASES=$cases \
         cargo test -p pgshape-e2e --test faults_parsers --locked --quiet -- --nocapture \
         --test-threads 1 ) >"$log" 2>&1; then
    cat "$log"
    echo "fuzz: round $round FAILED after $total cases" >&2
    exit 1
  fi
  n=$(grep -Eo '^[a-z ]+: [0-9]+ cases, 0 failures' "$log" | awk -F': ' '{split($2, a, " "); s += a[1]} END {print s + 0}')
  total=$((total + n))
  grep -E '^[a-z ]+: [0-9]+ cases, 0 failures' "$log" | sed "s/^/fuzz: round $round: /"
done
echo "fuzz: $round rounds, $total cases, 0 panics, aborts or failures in $(( $(date +%s) - start )) s"
