# Shared by the benchmark scripts (sourced from the repository root): the binary, the shared
# generator, the cache directory, and the release build when the binary is missing.
# Sets BIN, GEN, DATA; needs fail() defined by the caller.

BIN=${LYNCSCOPE:-${CARGO_TARGET_DIR:-target}/release/lyncscope}
GEN=${GEN_SIP_PCAP:-../shared/tools/gen_sip_pcap.py}
if [ -z "${GEN_SIP_PCAP:-}" ] && [ ! -f "$GEN" ] && command -v git >/dev/null 2>&1; then
  # In a git worktree, ../shared is beside the main checkout, not beside this one.
  common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  [ -n "$common" ] && [ -f "$common/../../shared/tools/gen_sip_pcap.py" ] && GEN=$common/../../shared/tools/gen_sip_pcap.py
fi
DATA=${BENCH_DATA:-target/bench-data}

# The release binary, built when missing.
ensure_binary() {
  if [ ! -x "$BIN" ]; then
    echo "== building $BIN"
    cargo build --release -j 1 -p lyncscope-cli --bin lyncscope
  fi
  [ -x "$BIN" ] || fail "$BIN: not built (CARGO_TARGET_DIR or LYNCSCOPE point elsewhere?)"
}
