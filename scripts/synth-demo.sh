#!/usr/bin/env bash
# Semantic synthesis demo: install, build, render a procedural street label-map
# video (GRAY8 PNGs from `fiancee make-scenes`) through fianceesynth with the
# bundled assets/scenes-demo (trained here, scripts/train-scenes-demo.sh).
# Writes the video, the label maps in colour beside it, and a per-frame CSV.
# Usage: scripts/synth-demo.sh [oasis|asap] [OUT.webm] [FRAMES]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
backbone="${1:-oasis}"
out="${2:-out/scenes-$backbone.webm}"
frames="${3:-60}"
csv="${out%.*}-frames.csv"
maps="${out%.*}-labels"
mkdir -p "$(dirname "$out")"
rm -rf "$maps"
build/tools/fiancee make-scenes --out "$maps" --frames "$frames" --height 128 --width 256
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
. scripts/launch-lib.sh
run_demo synth-demo "$out" multifilesrc location="$maps/labels_%04d.png" caps=image/png,framerate=10/1 ! pngdec \
  ! fianceesynth model-location=assets/scenes-demo backbone="$backbone" quality-threshold=0.1 \
    summary-interval=20 stats-location="$csv" measure-quality=true \
  ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location="$out"
echo "synth-demo: wrote $out, $csv, and the label maps (labels_*.png ids, colour_*.png colours) in $maps"
