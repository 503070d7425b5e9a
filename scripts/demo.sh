#!/usr/bin/env bash
# The README's main command: install, build, and animate a real photo
# (scikit-image's public-domain astronaut.png, fetched from Debian by
# scripts/fetch-photo.sh) with a driver video, through fianceereenact in
# gst-launch-1.0, with the bundled one-shot package assets/refiner-256
# (trained here by scripts/train-refiner.sh, docs/reenactment.md).
# Writes the video and a per-frame CSV (exit, predicted and measured quality, GFLOPs, ms).
# The quality threshold is the package's recommended one (its manifest).
#   scripts/demo.sh [DRIVER_VIDEO] [OUT.webm]      PHOTO=me.jpg for your own photo
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
driver="${1:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}"
out="${2:-out/demo.webm}"
csv="${out%.*}-frames.csv"
pkg="${PACKAGE:-assets/refiner-256}"
photo="${PHOTO:-$(scripts/fetch-photo.sh)}"
mkdir -p "$(dirname "$out")"
build/tools/fiancee inspect "$pkg" | sed -n 1,4p
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
. scripts/launch-lib.sh
run_demo demo "$out" filesrc location="$driver" ! decodebin ! videoconvert ! video/x-raw,format=RGB \
  ! fianceereenact model-location="$pkg" source-location="$photo" \
    summary-interval=50 stats-location="$csv" measure-quality=true \
  ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location="$out"
echo "demo: animated $photo; wrote $out and $csv (frames without a face are passed through: passthrough=1)"
