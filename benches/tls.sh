#!/usr/bin/env bash
# lyncscope on the 100k-message benchmark capture in clear and over real TLS (issue 11: "a TLS
# version of the 100k-message benchmark capture is analysed at >= 50% of the speed of the clear
# one"). See benches/README.md.
#
# Run from the repository root, as root (tcpdump on lo, listening on 127.10.0.x:5060):
#   sudo benches/tls.sh
# Needs: bash, cargo (only if the release binary is missing), python3 (standard library only;
# its ssl module is the system OpenSSL), tcpdump, openssl (the test certificate), GNU time as
# /usr/bin/time (peak RSS, -f %M), the usual POSIX tools (awk, sort, tr, wc, mktemp, mv), and
# git only to find the generator from a worktree.
#
# Environment:
#   LYNCSCOPE       the binary to measure (default: ${CARGO_TARGET_DIR:-target}/release/lyncscope,
#                   built with `cargo build --release -j 1 -p lyncscope-cli` when missing)
#   GEN_SIP_PCAP    the shared generator (default ../shared/tools/gen_sip_pcap.py; in a git
#                   worktree, the one beside the main checkout)
#   BENCH_DATA      where the captures are cached (default target/bench-data)
#   RUNS            timed runs per capture, the median is reported (default 3)
#   MIN_PERCENT     the threshold (default 50)
#
# Exit status: 0 if TLS runs at >= MIN_PERCENT of the clear speed and both reports count the same
# SIP messages; 1 otherwise (or on any failure).
set -eu
cd "$(dirname "$0")/.."

. benches/lib.sh
RUNS=${RUNS:-3}
MIN_PERCENT=${MIN_PERCENT:-50}
CLEAR=$DATA/lync-100k-tcp.pcap
TLS=$DATA/lync-100k-tls.pcap
KEYLOG=$DATA/lync-100k-tls.keylog

fail() { echo "tls.sh: $*" >&2; exit 1; }
need_tools python3 tcpdump openssl awk sort
[ -x /usr/bin/time ] || fail "GNU time (/usr/bin/time) is needed for the peak memory"
mkdir -p "$DATA"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The release binary.
ensure_binary

# 2. The clear capture (the generator is deterministic: same arguments, same bytes).
if [ ! -s "$CLEAR" ]; then
  [ -f "$GEN" ] || fail "$GEN: the shared generator is missing (set GEN_SIP_PCAP)"
  echo "== generating $CLEAR"
  start=$SECONDS
  python3 "$GEN" --seed 1 --messages 100000 --transport tcp --out "$CLEAR.part"
  mv "$CLEAR.part.json" "$CLEAR.json" 2>/dev/null || true
  mv "$CLEAR.part" "$CLEAR"
  echo "   generated in $((SECONDS - start)) s"
fi

# 3. Its TLS version, made once.
if [ ! -s "$TLS" ] || [ ! -s "$KEYLOG" ]; then
  [ "$(id -u)" = 0 ] || fail "making $TLS needs root (tcpdump on lo); run with sudo"
  echo "== making $TLS (TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 on loopback, $(openssl version | awk '{print $1, $2}'))"
  start=$SECONDS
  if [ ! -s "$DATA/server.key" ] || [ ! -s "$DATA/server.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DATA/server.key" -out "$DATA/server.crt" \
      -days 36500 -subj /CN=fe01.example.com 2>/dev/null
  fi
  rm -f "$TLS" "$KEYLOG"
  python3 benches/tls_replay.py "$CLEAR" "$TLS.part" --keylog "$KEYLOG.part" \
    --cert "$DATA/server.crt" --key "$DATA/server.key"
  mv "$KEYLOG.part" "$KEYLOG"
  mv "$TLS.part" "$TLS"
  echo "   made in $((SECONDS - start)) s"
fi

# 4. Measurements. One untimed run each gives the reports (and warms the page cache); then the
# timed runs, clear and TLS alternately so that a drift of the machine hits both alike.
run() { # name capture [options...]: one run, appends "wall_s peak_kb cpu_s" to $tmp/name.times
  name=$1; shift
  TIMEFORMAT=%3R
  { time /usr/bin/time -f '%M %U %S' -o "$tmp/mem" "$BIN" --report json "$@" > "$tmp/$name.json" 2> "$tmp/$name.err"; } 2> "$tmp/wall" \
    || { cat "$tmp/$name.err" >&2; fail "lyncscope failed on $name"; }
  echo "$(cat "$tmp/wall") $(tail -n 1 "$tmp/mem" | awk '{ printf "%d %.2f", $1, $2 + $3 }')" >> "$tmp/$name.times"
}
sip_messages() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["stats"]["sip_messages"])' "$1"
}
run clear "$CLEAR"
run tls "$TLS" --tls-keylog "$KEYLOG"
clear_msgs=$(sip_messages "$tmp/clear.json")
tls_msgs=$(sip_messages "$tmp/tls.json")
: > "$tmp/clear.times"
: > "$tmp/tls.times"
i=0
while [ "$i" -lt "$RUNS" ]; do
  run clear "$CLEAR"
  run tls "$TLS" --tls-keylog "$KEYLOG"
  i=$((i + 1))
done
median() { # file column
  sort -n -k "$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ct=$(median "$tmp/clear.times" 1); cm=$(median "$tmp/clear.times" 2); cc=$(median "$tmp/clear.times" 3)
tt=$(median "$tmp/tls.times" 1); tm=$(median "$tmp/tls.times" 2); tc=$(median "$tmp/tls.times" 3)
size() { wc -c < "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }

echo
echo "lyncscope --report json, median of $RUNS runs ($BIN)"
printf '%-6s %-34s %7s %9s %9s %11s %9s\n' capture file size "wall (s)" "CPU (s)" "peak RSS" "SIP msgs"
row() { # name file wall peak_kb cpu msgs
  printf '%-6s %-34s %7s %9s %9s %8s MB %9s\n' "$1" "$2" "$(size "$2")" "$3" "$5" \
    "$(awk -v k="$4" 'BEGIN { printf "%.1f", k / 1024 }')" "$6"
}
row clear "$CLEAR" "$ct" "$cm" "$cc" "$clear_msgs"
row TLS "$TLS" "$tt" "$tm" "$tc" "$tls_msgs"
echo "each run (wall s, peak KB, user+sys CPU s): clear: $(tr '\n' ' ' < "$tmp/clear.times")| TLS: $(tr '\n' ' ' < "$tmp/tls.times")"

# Beyond the count (informational): the conferences, and the dialogs but for frame numbers.
python3 - "$tmp/clear.json" "$tmp/tls.json" <<'PY'
import json, sys
c, t = (json.load(open(p)) for p in sys.argv[1:3])
strip = lambda ds: [{k: v for k, v in d.items() if not k.endswith("_frame")} for d in ds]
print("conferences:", "identical" if c["conferences"] == t["conferences"] else "DIFFERENT",
      f"({len(c['conferences'])});",
      "dialogs:", "identical but for frame numbers" if strip(c["dialogs"]) == strip(t["dialogs"]) else "DIFFERENT",
      f"({len(c['dialogs'])});",
      "TLS connections decrypted: {decrypted}/{connections}".format(**t["stats"]["tls"]))
PY
if [ "$clear_msgs" != "$tls_msgs" ]; then
  fail "the reports differ: $clear_msgs SIP messages in clear, $tls_msgs over TLS"
fi
pct=$(awk -v c="$ct" -v t="$tt" 'BEGIN { printf "%.0f", 100 * c / t }')
cpct=$(awk -v c="$cc" -v t="$tc" 'BEGIN { printf "%.0f", 100 * c / t }')
echo "(in CPU time, less sensitive to the other work on a shared machine: $cpct%)"
echo "TLS runs at $pct% of the clear speed (wall: clear $ct s / TLS $tt s; threshold $MIN_PERCENT%)"
awk -v c="$ct" -v t="$tt" -v m="$MIN_PERCENT" 'BEGIN { exit !(100 * c >= m * t) }' \
  || fail "below $MIN_PERCENT% of the clear speed"
