#!/usr/bin/env bash
# CI smoke run of the fuzz targets: builds every target and runs each for a short time
# (10 s by default, FUZZ_SMOKE_SECS to change) on its seed corpus, one job at a time, with a
# fixed libFuzzer seed and a fixed number of runs (FUZZ_SMOKE_RUNS, 30,000) so that CI does
# the same work on any machine (campaigns, not CI, look for new crashes); the time is a cap.
# Fails when a target does not build or a run finds a crash. Skips (exit 0) with a message
# when the nightly toolchain is absent. Installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."   # crates/lyncscope
secs=${FUZZ_SMOKE_SECS:-60}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz smoke: SKIPPED — the nightly toolchain is not installed (rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz smoke: installing cargo-fuzz"
  cargo install cargo-fuzz --locked -j "${CARGO_BUILD_JOBS:-1}"
fi

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
echo "fuzz smoke: building every target"
cargo +nightly fuzz build -s none

# Runs write new inputs to a scratch corpus, never into the committed seeds.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in $(cargo +nightly fuzz list); do
  mkdir -p "$scratch/$t" "fuzz/corpus/$t"
  echo "fuzz smoke: $t for ${secs}s"
  if ! cargo +nightly fuzz run -s none "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
      -seed=1 -runs="${FUZZ_SMOKE_RUNS:-30000}" -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 >"$scratch/$t.log" 2>&1; then
    echo "fuzz smoke: $t FAILED; the end of its log:"
    tail -n 40 "$scratch/$t.log"
    failed+=("$t")
  else
    grep -E '^#[0-9]+' "$scratch/$t.log" | tail -n 1 || true
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz smoke: crashes in: ${failed[*]} (inputs under fuzz/artifacts/)"
  exit 1
fi
echo "fuzz smoke: all targets built and ran"
