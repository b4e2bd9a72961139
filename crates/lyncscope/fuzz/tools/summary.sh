#!/usr/bin/env bash
# One line per target from the logs of tools/campaign.sh (fuzz/grown/logs/<crate>.<name>.log):
# executions, fuzzing seconds (executions / libFuzzer's average rate), wall seconds (the
# `campaign:` line: start-up and any rebuild included), exec/s, coverage, corpus, crashes.
# `--md`: the same as a Markdown table (for README.md). GROWN: where the campaign ran
# (default fuzz/grown beside this script).
grown=${GROWN:-$(dirname "$0")/../grown}
md=${1:-}
row() {
  if [ "$md" = --md ]; then
    printf '| `%s` | %s | %s s | %s | %s | %s | %s | %s |\n' "$@"
  else
    printf '%-28s %12s %7s %8s %7s %7s %7s %s\n' "$@"
  fi
}
if [ "$md" = --md ]; then
  echo '| target | executions | time | exec/s | cov | ft | corpus | crashes |'
  echo '|---|---:|---:|---:|---:|---:|---:|---|'
else
  printf '%-28s %12s %7s %8s %7s %7s %7s %s\n' target execs secs exec/s cov ft corpus crashes
fi
for log in "$grown"/logs/*.log; do
  t=$(basename "$log" .log)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  secs=?
  [ -n "$execs" ] && [ -n "$rate" ] && [ "$rate" -gt 0 ] && secs=$((execs / rate))
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  crash=$(grep -c 'Test unit written to' "$log")
  row "$t" "${execs:-?}" "$secs" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crash"
done
