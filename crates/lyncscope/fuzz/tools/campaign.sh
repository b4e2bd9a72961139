#!/usr/bin/env bash
# A campaign over every target, one after the other with one job (the machine is shared):
#   tools/campaign.sh RUNS SECONDS [PIPELINE_SECONDS] [TARGET...]
# New corpus entries go to grown/<target>/ (not committed); logs to grown/logs/<target>.log.
# Summarise with tools/summary.sh.
set -u
cd "$(dirname "$0")/../.."   # crates/lyncscope
runs=${1:-10000000}
secs=${2:-3600}
pipe_secs=${3:-$((secs * 2))}
shift 3 2>/dev/null || shift $#
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p fuzz/grown/logs
for t in "${targets[@]}"; do
  t_secs=$secs
  [ "$t" = pipeline ] && t_secs=$pipe_secs
  mkdir -p "fuzz/grown/$t" "fuzz/corpus/$t"
  echo "== $t: up to $runs runs or ${t_secs}s"
  cargo +nightly fuzz run -s none "$t" "fuzz/grown/$t" "fuzz/corpus/$t" -- \
    -runs="$runs" -max_total_time="$t_secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"fuzz/grown/logs/$t.log" 2>&1
  echo "   exit $?"
done
