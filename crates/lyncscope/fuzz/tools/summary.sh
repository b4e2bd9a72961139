#!/usr/bin/env bash
# One line per target from the logs of tools/campaign.sh: executions, coverage, corpus, crashes.
cd "$(dirname "$0")/.."
printf '%-22s %12s %8s %8s %8s %s\n' target execs cov ft corpus crash
for log in grown/logs/*.log; do
  t=$(basename "$log" .log)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  crash=$(grep -c 'Test unit written to' "$log")
  printf '%-22s %12s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crash"
done
