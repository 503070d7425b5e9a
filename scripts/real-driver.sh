#!/usr/bin/env bash
# Runs fianceereenact over a real driver video in gst-launch-1.0 and
# summarises its per-frame CSV: frames per exit, mean GFLOPs against the
# backbone's, and how many frames routed to a branch miss the threshold
# (measured 1 - MS-SSIM to the backbone's output >= threshold).
#   scripts/real-driver.sh [DRIVER] [extra fianceereenact properties...]
# e.g. scripts/real-driver.sh "" expression-transfer=absolute
# Needs a build in build/ (scripts/build.sh); writes out/real-driver-*.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
driver="${1:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}"
[ -n "$driver" ] || driver=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
shift || true
pkg="${PACKAGE:-assets/avatar-demo}"
threshold="${THRESHOLD:-0.1}"
mkdir -p out
csv="out/real-driver-$(echo "$threshold $*" | tr -c 'A-Za-z0-9.=\n' '_').csv"
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
start=$(date +%s.%N)
gst-launch-1.0 -q filesrc location="$driver" ! decodebin ! videoconvert ! video/x-raw,format=RGB \
  ! fianceereenact model-location="$pkg" source-location="$pkg/source.png" quality-threshold="$threshold" \
    measure-quality=true stats-location="$csv" "$@" ! fakesink sync=false
end=$(date +%s.%N)
awk -F, -v t="$threshold" -v wall="$(echo "$end - $start" | bc)" -v csv="$csv" '
  NR == 1 { next }
  $7 == 1 { pass++; next }
  { n++; exits[$3]++; g += $9; bb = $10; nexit = NF - 12
    if ($3 < nexit - 1) { branch++; if ($12 >= t) miss++ } }
  END {
    printf "%s: %d frames with a face, %d passed through; wall %.2f s\n", csv, n, pass, wall
    printf "exits:"; for (e = 0; e < nexit; e++) printf " %d: %d", e, exits[e]; printf "\n"
    printf "mean GFLOPs %.3f = %.3f of the backbone; %d frames on branches, %d miss threshold %s (%.1f%% of frames with a face)\n",
           g / n, g / n / bb, branch, miss, t, 100 * miss / n }' "$csv"
