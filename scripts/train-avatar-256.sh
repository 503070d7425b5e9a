#!/usr/bin/env bash
# The 256x256 avatar package (assets/avatar-256), fine-tuned from the bundled
# 128x128 one (assets/avatar-demo, docs/training.md): same architecture, so
# --init starts every network from the 128 weights (they are fully
# convolutional) and a short run adapts them to the larger crops. These exact
# commands made the bundled package on the project's 2-core machine. The
# guide database keeps 16 renders (the 16 guide frames per identity training
# used), a third of the 128 package's: at 256x256 each takes 384 KiB.
# --default-threshold 0.05: the smallest threshold with at most 5% misses and
# 0.5 of the backbone's GFLOPs on the validation frames (docs/results.md).
#   scripts/train-avatar-256.sh [WORK_DIR]      (needs a build: scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
F=build/tools/fiancee
W="${1:-out/avatar-256}"
$F train-backbone  --work "$W" --resolution 256 --channels 24 --identities 32 --scale-factors 1/2,1/4 \
                   --steps 150 --batch 4 --seed 1 --init assets/avatar-demo
$F train-branches  --work "$W" --steps 80 --batch 4 --init assets/avatar-demo
$F train-predictor --work "$W" --steps 60 --batch 8 --database-size 16
$F train-predictor --work "$W" --steps 120 --batch 8 --database-size 16 --avatar-only --name avatar-256 \
                   --default-threshold 0.05 --out "$W/pkg"
$F inspect "$W/pkg"
