#!/usr/bin/env bash
# A campaign over the fuzz targets of every crate (lyncscope, logs, tls, hep), one libFuzzer job
# at a time (the machine is shared):
#   tools/campaign.sh RUNS SECONDS [PIPELINE_SECONDS] [TARGET...]
# A TARGET is `name` (a lyncscope target) or `crate/name` (`hep/decode`), optionally with its own
# caps, `crate/name:SECONDS[:RUNS]` (RUNS -1 = no run cap); without TARGETs, every target of the
# four fuzz dirs, in the order listed, with RUNS and SECONDS (lyncscope's `pipeline`:
# PIPELINE_SECONDS). Every target is built first, so a target that does not build is known
# before the hours of fuzzing.
# New corpus entries go to fuzz/grown/<crate>/<name>/ (not committed; the committed seeds are
# read, never written), libFuzzer's log to fuzz/grown/logs/<crate>.<name>.log, which ends with
# a `campaign:` line (wall seconds, exit status). Summarise with tools/summary.sh.
# LIBFUZZER_EXTRA: more libFuzzer flags for every target of this run (`-max_len=4096`).
# FUZZ_TARGET_DIR: one cargo target dir for the four fuzz workspaces (they share libFuzzer and
# the dependencies), else each builds in its own fuzz/target.
set -u
cd "$(dirname "$0")/../../../.."   # the repository root
root=$PWD
runs=${1:-10000000}
secs=${2:-3600}
pipe_secs=${3:-$((secs * 2))}
shift 3 2>/dev/null || shift $#
targets=("$@")
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
target_dir=()
[ -n "${FUZZ_TARGET_DIR:-}" ] && target_dir=(--target-dir "$FUZZ_TARGET_DIR")
crates=(lyncscope logs tls hep)
if [ ${#targets[@]} -eq 0 ]; then
  for c in "${crates[@]}"; do
    while read -r t; do
      if [ "$c/$t" = lyncscope/pipeline ]; then
        targets+=("$c/$t:$pipe_secs")
      else
        targets+=("$c/$t")
      fi
    done < <(cd "crates/$c" && cargo +nightly fuzz list)
  done
fi

grown=$root/crates/lyncscope/fuzz/grown
mkdir -p "$grown/logs"

# Seeds beyond the crate's own fuzz/corpus/<name>/: test data in the formats the targets read,
# copied into a scratch directory (libFuzzer takes directories).
extra_seeds() {
  local c=$1 t=$2 dir=$grown/$1/$2.seeds
  rm -rf "$dir"
  mkdir -p "$dir"
  case "$c/$t" in
    logs/*) cp crates/lyncscope/fuzz/corpus/log_sources/* crates/logs/tests/data/*.log \
              crates/logs/tests/data/*.sip "$dir"/ 2>/dev/null ;;
    tls/keylog) cp crates/tls/testdata/*.keylog crates/tls/testdata/*.key "$dir"/ 2>/dev/null ;;
    tls/client_hello) cp crates/tls/testdata/sip_c2s.bin "$dir"/ 2>/dev/null ;;
    hep/*) cp crates/hep/tests/fixtures/*.bin "$dir"/ 2>/dev/null ;;
  esac
  echo "$dir"
}

for c in "${crates[@]}"; do
  echo "== building crates/$c/fuzz"
  (cd "crates/$c" && cargo +nightly fuzz build -s none "${target_dir[@]}") || echo "   BUILD FAILED: $c"
done

for spec in "${targets[@]}"; do
  name=${spec%%:*}
  caps=${spec#"$name"}
  c=lyncscope
  t=$name
  case "$name" in */*) c=${name%%/*}; t=${name#*/} ;; esac
  t_secs=$secs
  t_runs=$runs
  [ "$c/$t" = lyncscope/pipeline ] && t_secs=$pipe_secs
  if [ -n "$caps" ]; then
    caps=${caps#:}
    t_secs=${caps%%:*}
    case "$caps" in *:*) t_runs=${caps#*:} ;; esac
  fi
  mkdir -p "$grown/$c/$t"
  seeds=()
  [ -d "crates/$c/fuzz/corpus/$t" ] && seeds+=("$root/crates/$c/fuzz/corpus/$t")
  seeds+=("$(extra_seeds "$c" "$t")")
  log=$grown/logs/$c.$t.log
  echo "== $c/$t: up to $t_runs runs (-1: no cap) or ${t_secs}s, log $log"
  start=$(date +%s)
  (cd "crates/$c" && cargo +nightly fuzz run -s none "${target_dir[@]}" "$t" \
    "$grown/$c/$t" "${seeds[@]}" -- \
    -runs="$t_runs" -max_total_time="$t_secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 ${LIBFUZZER_EXTRA:-}) >"$log" 2>&1
  status=$?
  echo "campaign: target=$c/$t wall_seconds=$(($(date +%s) - start)) exit=$status" | tee -a "$log"
done
