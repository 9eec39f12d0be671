#!/usr/bin/env bash
# GPU check, one command on one GPU (under 8 minutes on an H200): the smoke config, then a paper-size minilm run
# (benchmarks/gpu-paper-minilm.yaml) in bf16 and in fp32; throughput, probe and inline-recording overhead and peak
# memory of each go to docs/benchmarks/gpu.md (and gpu.json), written by benchmarks/gpu_report.py from the runs.
#
#   bash benchmarks/gpu_check.sh --data-dir ../shared/data
#   bash benchmarks/gpu_check.sh --tiny --out /tmp/gpu-check --doc /tmp/gpu.md   # the same steps in a minute on a CPU
#
# --tiny shrinks every run (32 bulk and 16 tracked items, 1 epoch, max length 32) so that the script itself can be
# tested where there is no GPU; its numbers say nothing about speed.
set -euo pipefail
cd "$(dirname "$0")/.."

invocation="bash benchmarks/gpu_check.sh $*"
out=runs/gpu-check
doc=docs/benchmarks/gpu.md
shrink=()
data=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) shrink=(--set n_bulk=32 --set n_tracked=16 --set n_validation=16 --set epochs=1 --set max_length=32); shift ;;
    --out) out="$2"; shift 2 ;;
    --doc) doc="$2"; shift 2 ;;
    --data-dir) data=(--data-dir "$2"); shift 2 ;;
    *) echo "gpu_check.sh: unknown option $1 (use --tiny, --out DIR, --doc FILE, --data-dir DIR)" >&2; exit 2 ;;
  esac
done
loradyn="${LORADYN:-.venv/bin/loradyn}"
python="${PYTHON:-.venv/bin/python}"
started=$(date +%s)

"$loradyn" train configs/smoke.yaml --out "$out/smoke" --quiet --force "${data[@]}" "${shrink[@]}"
for precision in bf16 fp32; do
  "$loradyn" train benchmarks/gpu-paper-minilm.yaml --out "$out/paper-minilm-$precision" --quiet --force \
    --set precision="$precision" "${data[@]}" "${shrink[@]}"
done

"$python" benchmarks/gpu_report.py "$out/smoke" "$out/paper-minilm-bf16" "$out/paper-minilm-fp32" \
  --doc "$doc" --wall "$(( $(date +%s) - started ))" --command "$invocation"
