#!/usr/bin/env bash
# Reproduces docs/benchmarks.md on the machine it runs on: paper-scale G2D
# routes (random weights) and the bundled avatar package, CPU unless DEVICE=cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
device="${DEVICE:-cpu}"
mkdir -p out/bench
F=build/tools/fiancee
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
$F bench --arch g2d-paper --scale-factors 1/15,1/8 --device "$device" --runs "${RUNS:-5}" --warmup 1 \
  --csv out/bench/g2d-paper-$device.csv
$F bench --package assets/avatar-demo --device "$device" --runs "${RUNS:-20}" --warmup 3 \
  --csv out/bench/avatar-demo-$device.csv
