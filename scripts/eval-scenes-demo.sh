#!/bin/sh
# Reproduces the numbers in docs/synthesis.md#results: threshold sweeps of the
# bundled OASIS and ASAP-Net packages on held-out procedural scenes, with and
# without the patch database, the predictor on seen and new noises, and the two
# backbones timed in one run; then `fiancee bench` of every route.
set -eu
F=${FIANCEE:-build/tools/fiancee}
OUT=${1:-docs/results}
mkdir -p "$OUT/scenes-oasis" "$OUT/scenes-asap"
$F eval assets/scenes-demo/oasis --frames 160 --threshold-step 0.01 --max-threshold 0.15 --compare assets/scenes-demo/asap --compare-frames 40 \
  --out "$OUT/scenes-oasis" | tee "$OUT/scenes-oasis/eval.txt"
$F eval assets/scenes-demo/asap --frames 160 --threshold-step 0.01 --max-threshold 0.3 --out "$OUT/scenes-asap" | tee "$OUT/scenes-asap/eval.txt"
for fam in oasis asap; do
  $F bench --package assets/scenes-demo/$fam --runs 20 --warmup 3 --csv "$OUT/scenes-$fam/bench.csv" | tee "$OUT/scenes-$fam/bench.txt"
done
