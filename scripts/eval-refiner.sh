#!/usr/bin/env bash
# Reproduces docs/results.md for the bundled one-shot package: the threshold
# sweep and the error to the true frame (warp-only, every exit, routed) on
# held-out procedural identities, then real photos driven by real and
# large-turn clips, checked by an independent face detector on the output
# (eval-photo: warp-only baseline, every exit, backbone, routed; contact sheets).
#   scripts/eval-refiner.sh [PACKAGE] [OUT_DIR]     (needs a build: scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
F=build/tools/fiancee
pkg="${1:-assets/refiner-256}"
out="${2:-docs/results/refiner-256}"
clip=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
photo="$(scripts/fetch-photo.sh)"
mkdir -p "$out"/{validation,test,astronaut-megamind,sample-avatar-megamind,astronaut-turns45}
# Thresholds are picked on the validation identities and reported on the test ones.
$F eval "$pkg" --split validation --frames 200 --threshold-step 0.005 --max-threshold 0.08 --out "$out/validation" | tee "$out/validation/eval.txt"
$F eval "$pkg" --split test --frames 200 --threshold-step 0.005 --max-threshold 0.08 --out "$out/test" | tee "$out/test/eval.txt"
# Real photos (held out of training) driven by the real clip.
$F eval-photo "$pkg" --photo "$photo" --driver "$clip" --frames 270 --exit-hysteresis 15 --out "$out/astronaut-megamind" | tee "$out/astronaut-megamind/eval.txt"
$F eval-photo "$pkg" --photo "$pkg/source.png" --driver "$clip" --frames 270 --out "$out/sample-avatar-megamind" \
  | tee "$out/sample-avatar-megamind/eval.txt"
# Head turns up to 45 degrees: a procedural driver (an identity never trained on).
[ -s out/turns45/id0/clip0.avi ] || $F make-heads --out out/turns45 --identities 1 --videos 1 --frames 150 --size 320 --seed 77 --max-yaw 45
$F eval-photo "$pkg" --photo "$photo" --driver out/turns45/id0/clip0.avi --frames 150 --out "$out/astronaut-turns45" \
  | tee "$out/astronaut-turns45/eval.txt"
