#!/usr/bin/env bash
# The bundled one-shot reenactment package (assets/refiner-256): a G2D refiner
# with exits that corrects the piecewise-affine warp of any avatar photo
# (docs/reenactment.md). Trained on procedural heads of many identities at
# 256x256 (datasets/head_generator.h); no face photo or video is used, so the
# evaluation photos (scikit-image's astronaut.png, the package's source.png)
# and the driver (Megamind.avi) stay held out. These exact commands made the
# bundled package on the project's 2-core machine; STEPS=2 doubles every step count.
# --default-threshold 0.025: the smallest threshold with at most 5% misses and
# at most 0.5 of the backbone's GFLOPs on the validation identities
# (scripts/eval-refiner.sh, docs/results.md).
#   scripts/train-refiner.sh [WORK_DIR]      (needs a build: scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
F=build/tools/fiancee
W="${1:-out/refiner-256}"
S="${STEPS:-1}"
$F train-backbone  --work "$W" --resolution 256 --channels 16 --identities 2000 --scale-factors 1/2,1/4 \
                   --steps $((4000 * S)) --batch 4 --lr 3e-4 --seed 2
$F train-branches  --work "$W" --steps $((300 * S)) --batch 4
$F train-predictor --work "$W" --steps $((250 * S)) --batch 8 --name refiner-256 \
                   --default-threshold 0.025 --out "$W/pkg"
$F inspect "$W/pkg"
