#!/usr/bin/env bash
# tests/report_browser.sh [--shots DIR] PAGE.html TEXT... - a published page
# of the quarterly report in a real browser (Debian's chromium, headless),
# as a member of the public opens it on a phone (360x780) and on a desktop
# (1280x1600): it must load from the file alone (no script, no resource
# from outside; links only to the report's own pages beside it), neither
# screenshot may be blank (many colours: the charts' bars, the table), the
# page must not scroll sideways on the phone (measured from the DOM of a
# copy with a measuring script added: the document's and the main table's
# right edge within the window), and the page as the browser built it must
# hold every TEXT.  --shots DIR keeps the screenshots there
# (NAME-360.png, NAME-1280.png) for a person to look at.  Run by the
# integration test of the report (tests/integration/findings.c).
# Exit 0 when all holds; 1 with the reason otherwise; 2 on usage.
set -euo pipefail
shots=
if [ "${1:-}" = --shots ]; then
	shots=${2:?}
	shift 2
fi
[ $# -ge 1 ] || { echo "usage: $0 [--shots DIR] PAGE.html TEXT..." >&2; exit 2; }
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
if grep -oE '(src|href)="[^"]*"' "$page" | grep -vqE '^href="quality-[A-Za-z0-9_-]+\.html"$'; then
	echo "report_browser.sh: $page refers to another resource" >&2
	exit 1
fi

# --no-sandbox: the tests run as root in CI; a throwaway profile; no network use at all.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
	--user-data-dir="$tmp/profile" --disable-extensions --disable-background-networking)
# The copy that measures: the same page and a script that writes, into the
# DOM, the document's width, the window's and the main table's right edge.
sed 's|</body>|<script>document.body.insertAdjacentHTML("beforeend", "<pre id=measure>measure " + document.documentElement.scrollWidth + " " + window.innerWidth + " " + Math.ceil(document.querySelector("main table").getBoundingClientRect().right) + "</pre>")</script></body>|' \
	"$page" >"$tmp/measured.html"
grep -q 'id=measure' "$tmp/measured.html" || { echo "report_browser.sh: $page has no </body>" >&2; exit 1; }
for size in 360,780 1280,1600; do
	w=${size%,*}
	timeout 60 "$browser" "${flags[@]}" --window-size=$size --screenshot="$tmp/shot-$w.png" \
		"file://$page" >"$tmp/shot.log" 2>&1 || { cat "$tmp/shot.log" >&2; exit 1; }
	timeout 60 "$browser" "${flags[@]}" --window-size=$size --dump-dom "file://$tmp/measured.html" \
		>"$tmp/measured-$w.html" 2>"$tmp/dom.log" || { cat "$tmp/dom.log" >&2; exit 1; }
	read -r doc win table < <(sed -n 's/.*<pre id="measure">measure \([0-9]*\) \([0-9]*\) \([0-9]*\)<.*/\1 \2 \3/p' \
		"$tmp/measured-$w.html")
	[ -n "${table:-}" ] || { echo "report_browser.sh: no measure at width $w" >&2; exit 1; }
	echo "width $w: window $win, document $doc, main table's right edge $table"
	if ((doc > win || table > win)); then
		echo "report_browser.sh: at $w pixels the page scrolls sideways (document $doc, table $table, window $win)" >&2
		exit 1
	fi
	if [ -n "$shots" ]; then
		mkdir -p "$shots"
		cp "$tmp/shot-$w.png" "$shots/$(basename "$page" .html)-$w.png"
	fi
done
timeout 60 "$browser" "${flags[@]}" --window-size=1280,1600 --dump-dom "file://$page" \
	>"$tmp/dom.html" 2>"$tmp/dom.log" || { cat "$tmp/dom.log" >&2; exit 1; }

# The screenshot: a PNG read with the standard library alone (zlib, struct).
for shot in "$tmp"/shot-*.png; do
python3 - "$shot" <<'PY'
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
done

# Contrast as WCAG 2.x computes it (relative luminance): every text colour of
# the style and of the charts at least 4.5:1 on white, every background at
# least 4.5:1 under the body's text, every bar at least 3:1 (a graphic) on
# its grey track.
python3 - "$page" <<'PY'
import re, sys
page = open(sys.argv[1], encoding='utf-8').read()
def lum(h):
    h = h.lstrip('#')
    if len(h) == 3:
        h = ''.join(c * 2 for c in h)
    c = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
def ratio(a, b):
    la, lb = sorted((lum(a), lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
bad = []
body = re.search(r'body\{[^}]*?[^-]color:(#[0-9a-fA-F]{3,6})', page)
text = body.group(1) if body else '#000'
for c in re.findall(r'(?<![-\w])color:(#[0-9a-fA-F]{3,6})', page):
    if ratio(c, '#fff') < 4.5: bad.append('text %s on white: %.2f' % (c, ratio(c, '#fff')))
for c in re.findall(r'background:(#[0-9a-fA-F]{3,6})', page):
    if ratio(c, text) < 4.5: bad.append('text %s on %s: %.2f' % (text, c, ratio(c, text)))
for c in re.findall(r'<text[^>]*fill="(#[0-9a-fA-F]{3,6})"', page):
    if ratio(c, '#fff') < 4.5: bad.append('chart text %s: %.2f' % (c, ratio(c, '#fff')))
track = re.findall(r'<rect[^>]*width="240" [^>]*fill="(#[0-9a-fA-F]{3,6})"', page)
for c in set(re.findall(r'<rect[^>]*fill="(#[0-9a-fA-F]{3,6})"', page)) - set(track):
    for t in set(track) or {'#fff'}:
        if ratio(c, t) < 3: bad.append('bar %s on %s: %.2f' % (c, t, ratio(c, t)))
if bad:
    sys.exit('report_browser.sh: contrast below WCAG AA: ' + '; '.join(sorted(set(bad))))
print('contrast: every colour passes WCAG AA')
PY

for text in "$@"; do
	if ! grep -qF -- "$text" "$tmp/dom.html"; then
		echo "report_browser.sh: the page as the browser built it lacks \"$text\"" >&2
		exit 1
	fi
done
echo "report_browser.sh: $page renders, $# texts found"
