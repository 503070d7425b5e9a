#!/usr/bin/env bash
# fianceereenact on a real driver video in gst-launch-1.0, two measurements:
#   scripts/real-driver.sh quality [DRIVER] [fianceereenact properties...]
#     one routed run with measure-quality=true; from its per-frame CSV: frames
#     per exit, mean GFLOPs against the backbone's, and how many frames routed
#     to a branch miss the threshold (measured 1 - MS-SSIM to the backbone's
#     output >= threshold).
#   scripts/real-driver.sh speed [DRIVER] [properties...]
#     end-to-end wall time (decode, colour conversion, face front end, engine,
#     letterboxing) of backbone, routed, cheapest exit and the warp alone
#     (refine=false), in alternation
#     REPEATS (2) times so that machine noise hits all modes alike.
# DRIVER "" = OpenCV's Megamind.avi; PACKAGE (assets/refiner-256), PHOTO
# (astronaut.png via scripts/fetch-photo.sh), THRESHOLD (the package's default
# if unset), REPEATS and LOOPS (below) from the environment. Needs a build in build/
# (scripts/build.sh); CSVs land in out/.
#   e.g. scripts/real-driver.sh quality "" expression-transfer=absolute
#        scripts/real-driver.sh speed "" face-redetect-interval=5
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:?usage: scripts/real-driver.sh quality|speed [DRIVER] [properties...]}"
driver="${2:-}"
[ -n "$driver" ] || driver=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
shift $(( $# < 2 ? $# : 2 ))
pkg="${PACKAGE:-assets/refiner-256}"
photo="${PHOTO:-$(scripts/fetch-photo.sh)}"
threshold="${THRESHOLD:-$(build/tools/fiancee inspect "$pkg" | sed -n 's/.*default threshold \([0-9.]*\).*/\1/p')}"
# LOOPS (1): plays the driver that many times in a row (concat), so that
# start-up (about 1 s: models, dlib's landmark model) weighs less in the wall time.
sources=()
for _ in $(seq "${LOOPS:-1}"); do sources+=(filesrc location="$driver" ! decodebin ! c.); done
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
mkdir -p out

# run CSV PROPERTY...: the pipeline once; prints its wall time in seconds.
run() {
  local csv="$1" start
  shift
  start=$(date +%s.%N)
  gst-launch-1.0 -q concat name=c ! videoconvert ! video/x-raw,format=RGB \
    ! fianceereenact model-location="$pkg" source-location="$photo" stats-location="$csv" "$@" \
    ! fakesink sync=false "${sources[@]}"
  echo "$(date +%s.%N) - $start" | bc
}

case "$what" in
quality)
  csv="out/real-driver-$(echo "$threshold $*" | tr -c 'A-Za-z0-9.=\n' '_').csv"
  run "$csv" quality-threshold="$threshold" measure-quality=true "$@" > /dev/null
  awk -F, -v t="$threshold" -v csv="$csv" '
    NR == 1 { next }
    $7 == 1 { pass++; next }
    { n++; exits[$3]++; g += $9; bb = $10; nexit = NF - 17
      if ($3 < nexit - 1) { branch++; if ($12 >= t) miss++ } }
    END {
      printf "%s: %d frames with a face, %d passed through\n", csv, n, pass
      printf "exits:"; for (e = 0; e < nexit; e++) printf " %d: %d", e, exits[e]; printf "\n"
      printf "mean GFLOPs %.3f = %.3f of the backbone; %d frames on branches, %d miss threshold %s (%.1f%% of frames with a face)\n",
             g / n, g / n / bb, branch, miss, t, 100 * miss / n }' "$csv"
  ;;
speed)
  backbone=$(build/tools/fiancee inspect "$pkg" | awk '$1 == "exits" {print $2 - 1; exit}')
  echo "run mode                        wall_s  frames  fps    engine_ms  exits"
  for rep in $(seq "${REPEATS:-2}"); do
    for mode in exit="$backbone" quality-threshold="$threshold" exit=0 refine=false; do
      csv="out/e2e-$rep-${mode//=/_}.csv"
      wall=$(run "$csv" "$mode" "$@")
      awk -F, -v rep="$rep" -v mode="$mode" -v wall="$wall" '
        NR == 1 { next }
        { frames++ } $7 == 0 { n++; ms += $11; exits[$3]++ }
        END { printf "%-3s %-27s %7.2f  %6d  %5.1f  %9.2f ", rep, mode, wall, frames, frames / wall, ms / n
              for (e = 0; e < 64; e++) if (e in exits) printf " %d:%d", e, exits[e]; printf "\n" }' "$csv"
    done
  done
  ;;
*)
  echo "usage: scripts/real-driver.sh quality|speed [DRIVER] [properties...]" >&2
  exit 2
  ;;
esac
