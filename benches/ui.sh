#!/usr/bin/env bash
# The terminal UI's load against the report's, in one run (issue 15: "the terminal UI loads 1M
# messages in at most 1.5x the report's time, no frame over 50 ms while it loads, peak memory
# within 1.5x the report's"). See benches/README.md.
#
# Run from the repository root:
#   benches/ui.sh                      # the 100k UDP capture, 3 runs each, median
#   WITH_1M=1 benches/ui.sh            # also the 1M-message UDP capture
#
# The UI runs for real, in a tmux window of 120x35, with LYNCSCOPE_QUIT_WHEN_LOADED=1 (it quits
# after drawing the first frame once loading is done), LYNCSCOPE_FRAME_TIMES=1 (it prints the
# load time and its frame timings) and LYNCSCOPE_PEAK_RSS=1 (its peak resident set). The report
# is `--report json` to /dev/null, timed by GNU time.
#
# Needs: bash, tmux, python3 (the shared generator), GNU time as /usr/bin/time, awk, sort.
# Environment: LYNCSCOPE, GEN_SIP_PCAP, BENCH_DATA as for ratio.sh; RUNS (default 3);
# WITH_1M=1 for the 1M-message capture.
#
# Output per capture: the report's median seconds and peak MB, the UI's median load seconds,
# peak MB, the worst frame and frames over 50 ms over all runs, and the two ratios.
set -eu
cd "$(dirname "$0")/.."

. benches/lib.sh
RUNS=${RUNS:-3}

fail() { echo "ui.sh: $*" >&2; exit 1; }
need_tools tmux python3 awk sort
[ -x /usr/bin/time ] || fail "GNU time (/usr/bin/time) is needed"
mkdir -p "$DATA"
tmp=$(mktemp -d)
session=lyncscope-ui-bench-$$
trap 'tmux kill-session -t "$session" 2>/dev/null; rm -rf "$tmp"' EXIT
ensure_binary
bin=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One UI run: prints "LOAD_SECONDS PEAK_MB MAX_FRAME_MS OVER_50MS".
ui_once() { # FILE
  local f err=$tmp/ui.err
  f=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  rm -f "$err" "$tmp/ui.done"
  tmux new-session -d -s "$session" -x 120 -y 35 \
    "LYNCSCOPE_QUIT_WHEN_LOADED=1 LYNCSCOPE_FRAME_TIMES=1 LYNCSCOPE_PEAK_RSS=1 '$bin' '$f' 2> '$err'; touch '$tmp/ui.done'"
  local waited=0
  while [ ! -e "$tmp/ui.done" ]; do
    sleep 0.2
    waited=$((waited + 1))
    [ "$waited" -lt 3000 ] || fail "the UI did not finish loading $f in 10 minutes"
  done
  tmux kill-session -t "$session" 2>/dev/null || true
  awk '
    /loaded in/ {
      for (i = 1; i <= NF; i++) {
        if ($i == "in" && $(i-1) == "loaded") load = $(i+1)
        if ($i == "max") { m = $(i+1) }
        if ($i == "frames" && $(i+1) == "over") over = $(i-1)
      }
    }
    /peak RSS/ { rss = $(NF - 1) }
    END { printf "%s %s %s %s\n", load, rss, m, over }' "$err"
}

run_capture() { # FILE
  local f=$1 i
  echo
  echo "== $f ($(du -h "$f" | cut -f1), median of $RUNS)"
  : > "$tmp/report"; : > "$tmp/ui"
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$tmp/one" "$BIN" --report json "$f" > /dev/null 2>&1
    cat "$tmp/one" >> "$tmp/report"
    ui_once "$f" >> "$tmp/ui"
  done
  local rs rm us um worst over
  rs=$(awk '{print $1}' "$tmp/report" | median)
  rm=$(awk '{print $2 / 1024}' "$tmp/report" | median)
  us=$(awk '{print $1}' "$tmp/ui" | median)
  um=$(awk '{print $2}' "$tmp/ui" | median)
  worst=$(awk '{print $3}' "$tmp/ui" | sort -n | tail -1)
  over=$(awk '{ s += $4 } END { print s + 0 }' "$tmp/ui")
  awk -v rs="$rs" -v rm="$rm" -v us="$us" -v um="$um" -v w="$worst" -v o="$over" 'BEGIN {
    printf "report --report json  %7.2f s  %7.1f MB\n", rs, rm
    printf "UI load               %7.2f s  %7.1f MB   worst frame %s ms, %d frames over 50 ms\n", us, um, w, o
    printf "UI / report           %7.2fx    %7.2fx    (targets: 1.5x, 1.5x, no frame over 50 ms)\n", us / rs, um / rm
  }'
}

run_capture "$(capture lync-100k-udp.pcap 100000 udp)"
if [ "${WITH_1M:-}" = 1 ]; then
  run_capture "$(capture lync-1m-udp.pcap 1000000 udp)"
fi
