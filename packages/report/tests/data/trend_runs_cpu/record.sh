#!/usr/bin/env bash
# How the files in this folder were made: 20 real `perfkit-bench run --fast` runs of one unchanged
# commit with perfkit-bench's CPU-time series (each time benchmark `<id>` has `<id>.cpu_time`
# beside it, perfkit_metric "cpu_time", thread_time), the asyncio tell/ask/queue benchmarks of
# message_throughput and the references they are measured against; runs 3-5, 11-13 and 17 beside
# a busy neighbour pinned to CPU 0 (2 cores, shared with other work). `uptime` after each run is
# in load.txt. test_trend_series.py reads them: unchanged code gives no change point on the
# CPU-time basis, and a 5 % step from run 10 on is found.
#
# CHECKOUT is a checkout of a perfkit commit whose perfkit-bench records CPU time (the runs
# were made at ccdc1da8add7); the environment is made once:
#   python3.11 -m venv /tmp/trendenv
#   /tmp/trendenv/bin/pip install "$CHECKOUT/packages/runtime[fast]" "$CHECKOUT/packages/bench" pykka orjson msgpack
# then, from the repository root (about 25 s per run, not under nice: it is a measurement):
#   CHECKOUT=... VENV=/tmp/trendenv bash packages/report/tests/data/trend_runs_cpu/record.sh
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)"
: "${CHECKOUT:?set CHECKOUT to a perfkit checkout whose perfkit-bench records CPU time}"
venv="${VENV:-/tmp/trendenv}"
cd "$CHECKOUT"
busy_runs=" 3 4 5 11 12 13 17 "     # runs made beside a busy neighbour
for i in $(seq -w 0 19); do
    if [[ -e "$out/run-$i.json.gz" ]]; then continue; fi   # resumable
    neighbour=""
    if [[ "$busy_runs" == *" $((10#$i)) "* ]]; then
        taskset -c 0 python3 -c "while True: pass" &
        neighbour=$!
    fi
    "$venv/bin/perfkit-bench" run benchmarks/message_throughput.py -k '*asyncio*' --fast -q \
        --output "$out/run-$i.json"
    if [[ -n "$neighbour" ]]; then kill "$neighbour"; wait "$neighbour" 2>/dev/null || true; fi
    gzip -9 -f "$out/run-$i.json"
    uptime >> "$out/load.txt"
done
