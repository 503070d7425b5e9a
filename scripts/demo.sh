#!/usr/bin/env bash
# The README's main command: install, build, and animate the bundled avatar
# (assets/avatar-demo, trained here by `fiancee train-*`, see docs/training.md)
# with a driver video, through fianceereenact in gst-launch-1.0.
# Writes the video and a per-frame CSV (exit, predicted and measured quality, GFLOPs, ms).
# The quality threshold is the package's recommended one (its manifest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
driver="${1:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}"
out="${2:-out/demo.webm}"
csv="${out%.*}-frames.csv"
pkg="${PACKAGE:-assets/avatar-demo}"  # PACKAGE=assets/avatar-256 for the 256x256 avatar
mkdir -p "$(dirname "$out")"
build/tools/fiancee inspect "$pkg" | sed -n 1,4p
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
. scripts/launch-lib.sh
run_demo demo "$out" filesrc location="$driver" ! decodebin ! videoconvert ! video/x-raw,format=RGB \
  ! fianceereenact model-location="$pkg" source-location="$pkg/source.png" \
    summary-interval=50 stats-location="$csv" measure-quality=true \
  ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location="$out"
echo "demo: wrote $out and $csv (frames without a face are passed through: passthrough=1)"
