#!/usr/bin/env bash
# lyncscope against the floor and its peers on the generated benchmark captures, in one run
# (issue 15: "--report json on the 100k UDP and TCP captures within 2x the tcpdump floor measured
# in the same run; add the floor and the peers to a script under benches/ that prints the
# ratios"). See benches/README.md.
#
# Run from the repository root:
#   benches/ratio.sh                    # 100k UDP and TCP, 3 runs each, median
#   RUNS=5 WITH_1M=1 benches/ratio.sh   # also the 1M-message UDP capture (lyncscope, floor, sipnab)
#
# Needs: bash, python3 (the shared generator), GNU time as /usr/bin/time (wall time and peak
# RSS), tcpdump (the floor), awk, sort; cargo only if the release binary is missing. The peers
# are measured when installed and skipped with a line saying so otherwise: tshark (Debian
# `tshark`), sngrep (Debian `sngrep`), sipnab (`cargo install sipnab --locked`).
#
# Environment:
#   LYNCSCOPE     the binary to measure (default ${CARGO_TARGET_DIR:-target}/release/lyncscope,
#                 built with `cargo build --release -j 1 -p lyncscope-cli` when missing)
#   GEN_SIP_PCAP  the shared generator (default ../shared/tools/gen_sip_pcap.py)
#   BENCH_DATA    where the captures are cached (default target/bench-data)
#   RUNS          timed runs per tool and capture; the median is printed (default 3)
#   WITH_1M       1 to add the 1M-message UDP capture
#   MAX_FLOOR_RATIO  when set, exit 1 if lyncscope's time over the floor's exceeds it on any
#                 100k capture (the issue's target is 2)
#
# Output: one table per capture — tool, median wall seconds, median peak RSS (MB), and the
# ratios (lyncscope / floor; peer / lyncscope) — then a one-line verdict per capture.
set -eu
cd "$(dirname "$0")/.."

. benches/lib.sh
RUNS=${RUNS:-3}

fail() { echo "ratio.sh: $*" >&2; exit 1; }
need_tools python3 tcpdump awk sort
[ -x /usr/bin/time ] || fail "GNU time (/usr/bin/time) is needed for wall time and peak memory"
mkdir -p "$DATA"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ensure_binary

# median of RUNS runs of a command: prints "SECONDS MB"; the command's output goes to /dev/null.
measure() {
  local i
  : > "$tmp/runs"
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$tmp/one" "$@" > /dev/null 2> "$tmp/err" || {
      echo "FAILED $(head -c 200 "$tmp/err" | tr '\n' ' ')"; return 0; }
    cat "$tmp/one" >> "$tmp/runs"
  done
  local mid=$(( (RUNS + 1) / 2 ))
  local s m
  s=$(awk '{print $1}' "$tmp/runs" | sort -n | sed -n "${mid}p")
  m=$(awk '{print $2}' "$tmp/runs" | sort -n | sed -n "${mid}p")
  awk -v s="$s" -v m="$m" 'BEGIN { printf "%.3f %.1f\n", s, m / 1024 }'
}

verdict=0
run_capture() { # FILE
  local f=$1 floor ls
  echo
  echo "== $f ($(du -h "$f" | cut -f1), median of $RUNS)"
  printf '%-34s %9s %9s %s\n' tool seconds "peak MB" ratio
  floor=$(measure tcpdump -r "$f" -w /dev/null)
  ls=$(measure "$BIN" --report json "$f")
  one=$(measure "$BIN" --threads 1 --report json "$f")
  set -- $floor; local fs=$1 fm=$2
  set -- $ls; local lsec=$1 lm=$2
  printf '%-34s %9s %9s %s\n' "floor: tcpdump -r F -w /dev/null" "$fs" "$fm" "1.00"
  printf '%-34s %9s %9s %s\n' "lyncscope --report json" "$lsec" "$lm" \
    "$(awk -v a="$lsec" -v b="$fs" 'BEGIN { printf "%.2f x floor", a / b }')"
  # One thread: what --threads 1 (constrained hosts) costs, and what the second thread gains.
  set -- $one
  printf '%-34s %9s %9s %s\n' "lyncscope --threads 1" "$1" "$2" \
    "$(awk -v a="$1" -v b="$fs" -v c="$lsec" 'BEGIN { printf "%.2f x floor (2 threads: %.2fx faster)", a / b, a / c }')"
  peer() { # NAME CMD...
    local name=$1; shift
    if ! command -v "$1" >/dev/null 2>&1; then
      printf '%-34s %s\n' "$name" "(not installed: skipped)"
      return
    fi
    local r; r=$(measure "$@")
    case $r in FAILED*) printf '%-34s %s\n' "$name" "$r"; return;; esac
    set -- $r
    printf '%-34s %9s %9s %s\n' "$name" "$1" "$2" \
      "$(awk -v a="$1" -v b="$lsec" 'BEGIN { printf "lyncscope %.1fx faster", a / b }')"
  }
  peer "sipnab -N -I F --report" sipnab -N -I "$f" --report
  if [ "${2:-}" != big ]; then
    peer "tshark -q -z sip,stat -r F" tshark -q -z sip,stat -r "$f"
    peer "sngrep -N -q -I F" sngrep -N -q -I "$f"
  fi
  local ratio
  ratio=$(awk -v a="$lsec" -v b="$fs" 'BEGIN { printf "%.2f", a / b }')
  echo "-> lyncscope at ${ratio}x the floor, ${lm} MB peak"
  if [ -n "${MAX_FLOOR_RATIO:-}" ] && [ "${2:-}" != big ] \
    && awk -v r="$ratio" -v m="$MAX_FLOOR_RATIO" 'BEGIN { exit !(r > m) }'; then
    echo "-> over MAX_FLOOR_RATIO=$MAX_FLOOR_RATIO"
    verdict=1
  fi
}

echo "lyncscope $("$BIN" --version 2>/dev/null | awk '{print $2}'), $(nproc) cores, $(date -u +%FT%TZ)"
run_capture "$(capture lync-100k-udp.pcap 100000 udp)"
run_capture "$(capture lync-100k-tcp.pcap 100000 tcp)"
if [ "${WITH_1M:-0}" = 1 ]; then
  run_capture "$(capture lync-1m-udp.pcap 1000000 udp)" big
fi
exit $verdict
