#!/usr/bin/env bash
# End-to-end test of the terminal UI: runs the real binary in tmux on a sample capture, drives
# it with keys (conference → participant → ladder → split view → message detail → hex → back
# → ladder saved as text → search → filter → sort → quit) and checks the screen after each
# step, then that the terminal was restored.
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
LADDER_TXT=$(mktemp -u --suffix=.txt)
cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  rm -f "$SCREEN" "$RUNNER" "$LADDER_TXT"
}
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

# Waits (up to 5 s) until the screen no longer contains the text, else fails: a key sent just
# before is read and drawn asynchronously, so a single look could see the old frame.
refute() {
  for _ in $(seq 1 50); do
    capture
    if ! grep -qF -- "$1" "$SCREEN"; then
      return 0
    fi
    sleep 0.1
  done
  fail "did not expect \"$1\" on the screen"
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

step=2 # the conference grid opens on bob, who failed at the A/V MCU
keys Enter
expect "Conference Q9ZL4PJE"
expect "✗488"
expect "reason: the A/V MCU rejected the offer: 488 Not Acceptable Here"

step=3 # bob's join ladder: role lanes, three dialogs
keys Enter
expect "invitee bob"
expect "A/V MCU"
expect "INVITE C3P addUser"
expect "✗ 488 ms-diag 7008"
expect "A invitation  B focus  C roster  D A/V"

step=3b # the split view: the selected message's text beside the ladder, then off again
keys v
expect "frame 25"
expect "INVITE sip:bob@example.com SIP/2.0"
keys v
refute "INVITE sip:bob@example.com SIP/2.0"

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

step=6b # bob's ladder saved as text: s proposes a .txt name, Ctrl-U clears it
keys Enter
expect "invitee bob"
keys s
expect "join ladder as text to:"
keys C-u
keys -l "$LADDER_TXT"
keys Enter
expect "✓ saved join ladder as text"
grep -qF "inviter alice" "$LADDER_TXT" || fail "the saved ladder has no lanes"
grep -qF "✗ 488 ms-diag 7008" "$LADDER_TXT" || fail "the saved ladder has no 488"
keys Escape
expect "Conference Q9ZL4PJE"

step=7 # search the message list for a Call-ID-free text: the diagnostics reason
keys 3
expect "DESTINATION"
keys / E r r o r Space p a r s i n g Enter
expect "▶57"

step=7b # a filter of two words, then a sort of the conference list
keys 1 f
keys -l "failed kind:media"
keys Enter
expect "filter failed kind:media"
expect "Q9ZL4PJE"
keys s
expect "CONFERENCE▲"
keys s
expect "ORGANIZER▲"

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

echo "tui e2e: 13 steps passed"
