#!/usr/bin/env bash
# The README's main command: install, build, and render a video with fianceereenact.
# Until a trained avatar package is bundled, it runs a package with RANDOM,
# UNTRAINED weights (built here): the video shows the engine and routing at
# work, not a real reenactment.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
driver="${1:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}"
out="${2:-out/demo.webm}"
pkg=build/demo-package
mkdir -p "$(dirname "$out")"
if [ ! -f "$pkg/manifest.json" ]; then
  rm -rf "$pkg"
  build/tools/fiancee make-demo-package --out "$pkg" --resolution 128
fi
echo "NOTE: $pkg has UNTRAINED random weights; the output is noise-like by design."
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
log=build/demo-gst.log
if ! gst-launch-1.0 -m filesrc location="$driver" ! decodebin ! videoconvert ! video/x-raw,format=RGB \
    ! fianceereenact model-location="$pkg" source-location="$pkg/source.png" quality-threshold=0.1 summary-interval=50 \
    ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location="$out" > "$log" 2>&1; then
  cat "$log" >&2
  echo "demo: gst-launch-1.0 failed (log above, also in $log)" >&2
  exit 1
fi
grep -E "fiancee-summary" "$log" | tail -n 3 || true
[ -s "$out" ] || { echo "demo: no output was written to $out" >&2; exit 1; }
echo "demo: wrote $out"
