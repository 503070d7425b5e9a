#!/bin/sh
# Reproduces assets/scenes-demo: OASIS (with its patch guide database) and
# ASAP-Net trained by `fiancee train-*` on procedural street scenes at 128x256,
# on the 2-core CPU (docs/synthesis.md gives the times). Resumable: rerun to continue.
# The default thresholds (0.09, 0.17) were chosen afterwards on a validation set
# (`fiancee eval PKG --seed 2`): the smallest threshold with at most 0.5 of the
# backbone's GFLOPs and at most 5% misses; rerunning train-predictor on the
# finished work dir only rewrites the package.
# Usage: scripts/train-scenes-demo.sh [WORK_DIR] [OUT_DIR]
set -eu
F=${FIANCEE:-build/tools/fiancee}
W=${1:-work/scenes}
OUT=${2:-assets/scenes-demo}
common="--pipeline synth --height 128 --width 256 --channels 64 --scale-factors 1/2,1/4 --seed 1"

$F train-backbone --work "$W/oasis" $common --family oasis --steps 1200 --batch 4
$F train-branches --work "$W/oasis" --steps 250 --batch 4 --database-scenes 96 --database-per-class 48
$F train-predictor --work "$W/oasis" --steps 100 --batch 8 --default-threshold 0.09 --out "$OUT/oasis" --overwrite

$F train-backbone --work "$W/asap" $common --family asap --steps 1500 --batch 4 --lr 5e-4
$F train-branches --work "$W/asap" --steps 300 --batch 4
$F train-predictor --work "$W/asap" --steps 150 --batch 8 --default-threshold 0.17 --out "$OUT/asap" --overwrite
$F inspect "$OUT/oasis" > /dev/null && $F inspect "$OUT/asap" > /dev/null && echo "wrote $OUT/oasis and $OUT/asap"
