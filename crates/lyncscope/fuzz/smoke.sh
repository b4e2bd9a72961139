#!/usr/bin/env bash
# CI smoke run of the fuzz targets of every crate that has them (lyncscope, logs, tls, hep):
# builds every target and runs each on its seeds, one job at a time, with a fixed libFuzzer seed
# and a fixed number of runs (FUZZ_SMOKE_RUNS, 30,000 by default) so that CI does the same work
# on any machine (campaigns, tools/campaign.sh, look for new crashes); FUZZ_SMOKE_SECS (30) caps
# each run's time. The four fuzz workspaces build into one target dir (FUZZ_TARGET_DIR, default
# target/fuzz at the repository root), so the dependencies they share are built once.
# Fails when a target does not build or a run finds a crash. Skips (exit 0) with a message
# when the nightly toolchain is absent. Installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../../.."   # the repository root
root=$PWD
secs=${FUZZ_SMOKE_SECS:-30}
runs=${FUZZ_SMOKE_RUNS:-30000}
target_dir=${FUZZ_TARGET_DIR:-$root/target/fuzz}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz smoke: SKIPPED — the nightly toolchain is not installed (rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz smoke: installing cargo-fuzz"
  cargo install cargo-fuzz --locked -j "${CARGO_BUILD_JOBS:-1}"
fi
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

# Runs write new inputs to a scratch corpus, never into the committed seeds.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Seeds beyond a crate's own fuzz/corpus/<name>/: test data in the formats the targets read
# (as tools/campaign.sh gives them).
extra_seeds() {
  local c=$1 t=$2 dir=$scratch/seeds/$1/$2
  mkdir -p "$dir"
  case "$c/$t" in
    logs/*) cp crates/lyncscope/fuzz/corpus/log_sources/* crates/logs/tests/data/*.log \
              crates/logs/tests/data/*.sip "$dir"/ 2>/dev/null || true ;;
    tls/keylog) cp crates/tls/testdata/*.keylog crates/tls/testdata/*.key "$dir"/ 2>/dev/null || true ;;
    tls/client_hello) cp crates/tls/testdata/sip_c2s.bin "$dir"/ 2>/dev/null || true ;;
    hep/*) cp crates/hep/tests/fixtures/*.bin "$dir"/ 2>/dev/null || true ;;
  esac
  echo "$dir"
}

failed=()
total=0
for c in lyncscope logs tls hep; do
  echo "fuzz smoke: building every target of crates/$c/fuzz"
  if ! (cd "crates/$c" && cargo +nightly fuzz build -s none --target-dir "$target_dir"); then
    echo "fuzz smoke: crates/$c/fuzz does not build"
    failed+=("$c (build)")
    continue
  fi
  for t in $(cd "crates/$c" && cargo +nightly fuzz list); do
    mkdir -p "$scratch/$c/$t"
    seeds=("$scratch/$c/$t")
    [ -d "crates/$c/fuzz/corpus/$t" ] && seeds+=("$root/crates/$c/fuzz/corpus/$t")
    seeds+=("$(extra_seeds "$c" "$t")")
    echo "fuzz smoke: $c/$t, $runs runs (at most ${secs}s)"
    if ! (cd "crates/$c" && cargo +nightly fuzz run -s none --target-dir "$target_dir" "$t" \
        "${seeds[@]}" -- -seed=1 -runs="$runs" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048) >"$scratch/$c.$t.log" 2>&1; then
      echo "fuzz smoke: $c/$t FAILED; the end of its log:"
      tail -n 40 "$scratch/$c.$t.log"
      failed+=("$c/$t")
    else
      grep -E '^#[0-9]+' "$scratch/$c.$t.log" | tail -n 1 || true
    fi
    total=$((total + 1))
  done
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz smoke: failures in: ${failed[*]} (inputs under crates/<crate>/fuzz/artifacts/)"
  exit 1
fi
echo "fuzz smoke: all $total targets of the four fuzz dirs built and ran"
