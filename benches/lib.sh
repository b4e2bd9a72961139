# Shared by the benchmark scripts (sourced from the repository root): the binary, the shared
# generator, the cache directory, and the release build when the binary is missing.
# Sets BIN, GEN, DATA; defines ensure_binary, need_tools and capture; needs fail() defined by
# the caller.

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

# Fails unless every tool named is on PATH.
need_tools() { # TOOL...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
  done
}

# A generated capture in DATA, made once (the generator is deterministic: the same arguments
# give the same bytes); prints its path.
capture() { # NAME MESSAGES TRANSPORT
  local out=$DATA/$1
  if [ ! -s "$out" ]; then
    [ -f "$GEN" ] || fail "$GEN: the shared generator is missing (set GEN_SIP_PCAP)"
    echo "== generating $out" >&2
    python3 "$GEN" --seed 1 --messages "$2" --transport "$3" --out "$out.part" >&2
    mv "$out.part.json" "$out.json" 2>/dev/null || true
    mv "$out.part" "$out"
  fi
  echo "$out"
}
