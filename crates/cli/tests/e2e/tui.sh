#!/usr/bin/env bash
# End-to-end test of the terminal UI: runs the real binary in tmux on a sample capture, drives
# it with keys (conference → participant → ladder → message detail → hex → back → search →
# quit) and checks the screen after each step, then that the terminal was restored.
#
# Usage: crates/cli/tests/e2e/tui.sh [path/to/lyncscope]   (default: target/debug/lyncscope, built if
# missing). Needs tmux.
set -euo pipefail
cd "$(dirname "$0")/../../../.."

BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/lyncscope}
if [ ! -x "$BIN" ]; then
  cargo build --quiet
fi
command -v tmux >/dev/null || { echo "FAIL: tmux is not installed"; exit 1; }

SESSION="lyncscope-e2e-$$"
CAPTURE=captures/av-mcu-rejected.pcapng
SCREEN=$(mktemp)
RUNNER=$(mktemp)
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -f "$SCREEN" "$RUNNER"; }
trap cleanup EXIT

step=0
fail() {
  echo "FAIL at step $step: $1"
  echo "---- screen ----"
  cat "$SCREEN"
  echo "----------------"
  exit 1
}

capture() { tmux capture-pane -p -t "$SESSION" >"$SCREEN"; }

# Waits (up to 5 s) until the screen contains the text, else fails with the screen shown.
expect() {
  local text=$1
  for _ in $(seq 1 50); do
    capture
    if grep -qF -- "$text" "$SCREEN"; then
      return 0
    fi
    sleep 0.1
  done
  fail "expected \"$text\" on the screen"
}

# Fails if the screen contains the text.
refute() {
  capture
  if grep -qF -- "$1" "$SCREEN"; then
    fail "did not expect \"$1\" on the screen"
  fi
}

keys() { tmux send-keys -t "$SESSION" "$@"; }

# A shell in the session runs the UI and, after it exits, prints a marker and whether the
# terminal is back in cooked mode with echo (what a restored terminal means to the user).
cat >"$RUNNER" <<EOF
"$BIN" "$CAPTURE"
echo "EXIT=\$?"
stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo)\$' | tr '\n' ' '
echo
sleep 30
EOF
tmux new-session -d -s "$SESSION" -x 120 -y 35 "bash --norc --noprofile $RUNNER"

step=1 # the conference list, loaded
expect "Conferences"
expect "Q9ZL4PJE"
expect "✓ loaded"
expect "Release planning"

step=2 # the conference grid: bob failed at the A/V MCU
keys Enter
expect "Conference Q9ZL4PJE"
expect "✗488"
keys Down
expect "reason: the A/V MCU rejected the offer: 488 Not Acceptable Here"

step=3 # bob's join ladder: role lanes, three dialogs
keys Enter
expect "invitee bob"
expect "A/V MCU"
expect "INVITE C3P addUser"
expect "✗ 488 ms-diag 7008"
expect "A invitation  B focus  C roster  D A/V"

step=4 # the message detail: select the 488 by searching the ladder, open it
keys / 4 8 8 Enter
keys Enter
expect "[Tree]"
expect "Status-Line: SIP/2.0 488 Not Acceptable Here"
expect "ms-diagnostics: 7008"

step=5 # hex view
keys x
expect "[Hex]"
expect "0000  53 49 50 2f 32 2e 30 20"

step=6 # back to the ladder, then the grid
keys Escape
expect "invitee bob"
refute "[Hex]"
keys BSpace
expect "Conference Q9ZL4PJE"

step=7 # search the message list for a Call-ID-free text: the diagnostics reason
keys 3
expect "DESTINATION"
keys / E r r o r Space p a r s i n g Enter
expect "▶57"

step=8 # help overlay, then quit
keys "?"
expect "keys"
expect "write the selection's packets"
keys Escape
keys q
expect "EXIT=0"

step=9 # the terminal is restored: cooked mode with echo, no alternate screen left over
expect "icanon"
capture
if grep -qE -- "(^| )-icanon|(^| )-echo( |$)" "$SCREEN"; then
  fail "the terminal was left in raw mode"
fi
refute "[1 Conferences]"

echo "tui e2e: 9 steps passed"
