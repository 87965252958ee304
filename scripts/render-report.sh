#!/usr/bin/env bash
# Renders a `pgshape-generator compare --html` page to a PNG with a headless browser.
#
#   scripts/render-report.sh report.html out.png [WIDTHxHEIGHT]
#
# Uses the first of chromium, chromium-browser, google-chrome(-stable) or firefox on PATH
# (or $BROWSER). The page is opened from the local file; it loads nothing from the network.
# Exit 2 on bad arguments, 3 when no headless browser is installed.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 report.html out.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
html=$1
png=$2
size=${3:-1200x4000}
if [[ ! -f $html ]]; then
    echo "error: $html: no such file" >&2
    exit 2
fi
if [[ ! $size =~ ^[0-9]+x[0-9]+$ ]]; then
    echo "error: size $size: expected WIDTHxHEIGHT, e.g. 1200x4000" >&2
    exit 2
fi
abs_html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
abs_png=$(mkdir -p "$(dirname "$png")" && cd "$(dirname "$png")" && pwd)/$(basename "$png")

browser=${BROWSER:-}
if [[ -z $browser ]]; then
    for b in chromium chromium-browser google-chrome google-chrome-stable firefox; do
        if command -v "$b" >/dev/null 2>&1; then
            browser=$b
            break
        fi
    done
fi
if [[ -z $browser ]]; then
    cat >&2 <<'MSG'
error: no headless browser found (looked for chromium, chromium-browser, google-chrome,
google-chrome-stable, firefox). Install one, e.g. on Debian: apt-get install chromium
Or open the page in any browser: it is a single self-contained file.
MSG
    exit 3
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
case $(basename "$browser") in
    firefox*)
        "$browser" --headless --profile "$profile" --no-remote \
            --window-size "${size/x/,}" --screenshot "$abs_png" "file://$abs_html" >/dev/null 2>&1
        ;;
    *)
        # The flags keep a headless Chromium from reaching out to the network at start.
        "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --hide-scrollbars --user-data-dir="$profile" --window-size="${size/x/,}" \
            --screenshot="$abs_png" "file://$abs_html" >/dev/null 2>&1
        ;;
esac
if [[ ! -s $abs_png ]]; then
    echo "error: $browser wrote no screenshot to $png" >&2
    exit 1
fi
echo "$png"
