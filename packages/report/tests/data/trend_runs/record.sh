#!/usr/bin/env bash
# How the files in this folder were made: 20 real `perfkit-bench run --fast` runs of one unchanged
# commit (the asyncio tell/ask benchmarks and the references they are measured against), some of
# them beside a busy neighbour pinned to CPU 0. test_trend_series.py reads them to check that
# unchanged code gives no change point and that a 5 % step from run 10 on is found.
#
# Run from the repository root: bash packages/report/tests/data/trend_runs/record.sh
# (it builds nox's bench environment once, then about 30 s per run).
set -euo pipefail
out="$(dirname "$0")"
nox -s bench -- --help >/dev/null   # build the session's environment once
busy_runs=" 3 4 5 11 12 13 17 "     # runs made beside a busy neighbour
for i in $(seq -w 0 19); do
    if [[ -e "$out/run-$i.json.gz" ]]; then continue; fi   # resumable
    neighbour=""
    if [[ "$busy_runs" == *" $((10#$i)) "* ]]; then
        taskset -c 0 python -c "while True: pass" &
        neighbour=$!
    fi
    nox -R -s bench -- -k 'message_throughput.*asyncio*' --fast -q \
        --output "$out/run-$i.json"
    if [[ -n "$neighbour" ]]; then kill "$neighbour"; wait "$neighbour" 2>/dev/null || true; fi
    gzip -9 -f "$out/run-$i.json"
    uptime >> "$out/load.txt"
done
