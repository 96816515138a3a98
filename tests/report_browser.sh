#!/usr/bin/env bash
# tests/report_browser.sh PAGE.html TEXT... - the quarterly report's public
# page in a real browser (Debian's chromium, headless): it must load from
# the file alone (no script, no resource from outside), its screenshot must
# not be blank (many colours: the charts' bars, the table), and the page as
# the browser built it must hold every TEXT.  Run by the integration test
# of the report (tests/integration/findings.c, tcase "findings").
# Exit 0 when all holds; 1 with the reason otherwise; 2 on usage.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PAGE.html TEXT..." >&2; exit 2; }
page=$(realpath "$1")
shift
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "report_browser.sh: no chromium (scripts/deps.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/report-browser.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Self-contained: no script at all, and nothing fetched (the SVG namespace is a name, not a fetch).
if grep -qiE '<script|<link|<img|<iframe|@import|url\(' "$page"; then
	echo "report_browser.sh: $page loads something from outside or runs a script" >&2
	exit 1
fi
if grep -oE '(src|href)="[^"]*"' "$page" | grep -q .; then
	echo "report_browser.sh: $page refers to another resource" >&2
	exit 1
fi

# --no-sandbox: the tests run as root in CI; a throwaway profile; no network use at all.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
	--user-data-dir="$tmp/profile" --disable-extensions --disable-background-networking)
timeout 60 "$browser" "${flags[@]}" --window-size=1000,1400 --screenshot="$tmp/shot.png" \
	"file://$page" >"$tmp/shot.log" 2>&1 || { cat "$tmp/shot.log" >&2; exit 1; }
timeout 60 "$browser" "${flags[@]}" --dump-dom "file://$page" >"$tmp/dom.html" 2>"$tmp/dom.log" ||
	{ cat "$tmp/dom.log" >&2; exit 1; }

# The screenshot: a PNG read with the standard library alone (zlib, struct).
python3 - "$tmp/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
if data[:8] != b'\x89PNG\r\n\x1a\n':
    sys.exit('report_browser.sh: the screenshot is not a PNG')
pos, idat = 8, b''
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
if depth != 8 or ctype not in (2, 6):
    sys.exit('report_browser.sh: PNG of depth %d colour type %d not read here' % (depth, ctype))
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, colours, ink = bytearray(stride), set(), 0
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):   # every other pixel is plenty
        px = bytes(line[x:x + 3])
        colours.add(px)
        ink += px != b'\xff\xff\xff'
    prev = line
share = ink / (w * h / 2)
print('screenshot %dx%d: %d colours, %.1f%% not white' % (w, h, len(colours), 100 * share))
if len(colours) < 8 or share < 0.01:
    sys.exit('report_browser.sh: the screenshot looks blank')
PY

for text in "$@"; do
	if ! grep -qF -- "$text" "$tmp/dom.html"; then
		echo "report_browser.sh: the page as the browser built it lacks \"$text\"" >&2
		exit 1
	fi
done
echo "report_browser.sh: $page renders, $# texts found"
