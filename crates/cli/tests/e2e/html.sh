#!/usr/bin/env bash
# End-to-end test of the HTML report in a real browser: writes the HTML report of a sample with
# failed joins, renders it in headless Chromium, and checks that
#   1. the screenshot is a real rendering (a PNG of the window's size with many colours and
#      enough ink, not a blank or error page), and the failing arrow's red is on it;
#   2. the DOM Chromium built holds erin's failing arrow (class "failing", data-failing) with its
#      "403 INVITE" label, and bob's (the 200 whose C3P said failure) — so the SVG was parsed as
#      SVG, not as text.
#
# Usage: crates/cli/tests/e2e/html.sh [path/to/lyncscope]   (default: target/debug/lyncscope,
# built if missing). Needs chromium (Debian package) and python3 (standard library only).
set -euo pipefail
cd "$(dirname "$0")/../../../.."

BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/lyncscope}
if [ ! -x "$BIN" ]; then
  cargo build --quiet
fi
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "FAIL: chromium is not installed"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PAGE="$WORK/report.html"
SHOT="$WORK/shot.png"
DOM="$WORK/dom.html"
WIDTH=1400
HEIGHT=3000

"$BIN" --report html "$PAGE" captures/focus-c3p-failure.pcapng
[ -s "$PAGE" ] || { echo "FAIL: no HTML report written"; exit 1; }

# A throwaway profile, no network, no first-run UI: the page must render from itself alone.
chrome() {
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$WORK/profile" --no-first-run --disable-extensions \
    --proxy-server="127.0.0.1:9" --proxy-bypass-list="<-loopback>" "$@" 2>"$WORK/chromium.err"
}
chrome --window-size="$WIDTH,$HEIGHT" --screenshot="$SHOT" "file://$PAGE" >/dev/null ||
  { cat "$WORK/chromium.err"; echo "FAIL: chromium could not take the screenshot"; exit 1; }
chrome --dump-dom "file://$PAGE" >"$DOM" ||
  { cat "$WORK/chromium.err"; echo "FAIL: chromium could not dump the DOM"; exit 1; }
[ -s "$SHOT" ] || { echo "FAIL: empty screenshot"; exit 1; }

python3 - "$SHOT" "$DOM" "$WIDTH" "$HEIGHT" <<'EOF'
import re, struct, sys, zlib

shot, dom, want_w, want_h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)

# A PNG decoder for what Chromium writes: 8-bit RGB or RGBA, not interlaced.
data = open(shot, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    fail("the screenshot is not a PNG")
pos, idat, w = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        if depth != 8 or colour not in (2, 6) or interlace:
            fail(f"unexpected PNG format depth={depth} colour={colour} interlace={interlace}")
        bpp = 3 if colour == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
if (w, h) != (want_w, want_h):
    fail(f"screenshot is {w}x{h}, not {want_w}x{want_h}")
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours, ink, red = set(), 0, 0
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pred) & 255
    for x in range(0, stride, bpp):
        r, g, bl = line[x], line[x + 1], line[x + 2]
        colours.add((r, g, bl))
        if r + g + bl < 600:
            ink += 1
        if r > 190 and g < 40 and bl < 40:
            red += 1
    prev = line
share = ink / (w * h)
print(f"screenshot: {w}x{h}, {len(colours)} colours, {share:.1%} ink, {red} failing-red pixels")
if len(colours) < 16:
    fail("the screenshot has almost no colours: blank")
if share < 0.02:
    fail("the screenshot is almost empty")
if red < 50:
    fail("no failing arrow's red on the screenshot")

html = open(dom, encoding="utf-8").read()
arrows = re.findall(r'<g class="([^"]*)" id="(failing-[0-9]+-[0-9]+)" data-failing="true">(.*?)</g>', html, re.S)
labels = {}
for classes, ident, inner in arrows:
    if "failing" not in classes.split():
        fail(f"{ident} lacks the class failing")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", inner)
    labels[ident] = texts
print("failing arrows in the DOM:", labels)
if not any("403 INVITE" in t for t in labels.get("failing-0-2", [])):
    fail("erin's failing 403 arrow is not in the DOM")
if not any(t.startswith("200 INVITE") for t in labels.get("failing-0-1", [])):
    fail("bob's failing 200 (C3P failure) arrow is not in the DOM")
if "<svg" not in html or 'class="ladder"' not in html:
    fail("no SVG ladder in the DOM")
EOF
echo "OK: the HTML report renders in Chromium and shows the failing arrows"
