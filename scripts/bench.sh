#!/usr/bin/env bash
# Reproduces docs/benchmarks.md's tuned-runtime tables on the machine it runs on:
# paper-scale G2D routes (random weights) and the bundled refiner package, each
# at 1 and 2 threads in NCHW and channels-last, in one run per target; CPU
# unless DEVICE=cuda (then threads and layouts do not apply).
set -euo pipefail
cd "$(dirname "$0")/.."
device="${DEVICE:-cpu}"
mkdir -p out/bench
F=build/tools/fiancee
variants=(--thread-counts 1,2 --layouts nchw,channels-last)
[ "$device" = cpu ] || variants=()
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
$F bench --arch g2d-paper --scale-factors 1/8 --device "$device" --runs "${RUNS:-3}" --warmup 1 "${variants[@]}" \
  --csv out/bench/g2d-paper-$device.csv
$F bench --package assets/refiner-256 --scale-factors 1/4 --device "$device" --runs "${RUNS:-7}" --warmup 1 "${variants[@]}" \
  --csv out/bench/refiner-256-$device.csv
