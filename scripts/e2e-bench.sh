#!/usr/bin/env bash
# End-to-end frame rate of fianceereenact in gst-launch-1.0 (decode, colour
# conversion, face front end, engine, letterboxing), backbone vs routed vs
# cheapest exit, run in alternation REPEATS times so that machine noise hits
# all modes alike. Extra arguments go to fianceereenact.
#   scripts/e2e-bench.sh [DRIVER] [properties...]   e.g. "" face-redetect-interval=5
# Needs a build in build/ (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
driver="${1:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}"
[ -n "$driver" ] || driver=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
shift || true
pkg="${PACKAGE:-assets/avatar-demo}"
threshold="${THRESHOLD:-0.1}"
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
mkdir -p out
echo "run mode                        wall_s  frames  fps    engine_ms  exits"
for rep in $(seq "${REPEATS:-2}"); do
  for mode in exit=-1 quality-threshold="$threshold" exit=0; do
    [ "$mode" = exit=-1 ] && mode="exit=$(build/tools/fiancee inspect "$pkg" | awk '$1 == "exits" {print $2 - 1; exit}')"
    csv="out/e2e-$rep-${mode//=/_}.csv"
    start=$(date +%s.%N)
    gst-launch-1.0 -q filesrc location="$driver" ! decodebin ! videoconvert ! video/x-raw,format=RGB \
      ! fianceereenact model-location="$pkg" source-location="$pkg/source.png" "$mode" stats-location="$csv" "$@" \
      ! fakesink sync=false
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    awk -F, -v rep="$rep" -v mode="$mode" -v wall="$wall" '
      NR == 1 { next }
      { frames++ } $7 == 0 { n++; ms += $11; exits[$3]++ }
      END { printf "%-3s %-27s %7.2f  %6d  %5.1f  %9.2f ", rep, mode, wall, frames, frames / wall, ms / n
            for (e = 0; e < 64; e++) if (e in exits) printf " %d:%d", e, exits[e]; printf "\n" }' "$csv"
  done
done
