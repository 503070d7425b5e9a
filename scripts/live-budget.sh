#!/usr/bin/env bash
# latency-budget end to end in gst-launch-1.0 with a source paced in real time
# (a camera stand-in: frames arrive at the clip's rate, a leaky one-frame queue
# drops what the element cannot take):
#   1. the element's time per frame when every frame takes the backbone (exit=N-1): median B;
#   2. the same stream routed at the package's default threshold with latency-budget = FACTOR x B:
#      the share of frames whose whole time (frame_ms) fits the budget, p50/p95 frame_ms, the
#      frames the budget sent below the threshold's quality (budget-limited) and the exits taken.
#   scripts/live-budget.sh reenact|synth [FACTOR (0.6)] [element properties...]
# reenact: assets/refiner-256, astronaut.png, Megamind.avi; synth: assets/scenes-demo (oasis unless
# BACKBONE=asap), 200 procedural label maps at 10 fps. Needs a build (scripts/build.sh); CSVs in out/live-budget/.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:?usage: scripts/live-budget.sh reenact|synth [FACTOR] [properties...]}"
factor="${2:-0.6}"
shift $(( $# < 2 ? $# : 2 ))
F=build/tools/fiancee
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
out=out/live-budget
mkdir -p "$out"
case "$what" in
reenact)
  pkg=assets/refiner-256
  photo="$(scripts/fetch-photo.sh)"
  source=(filesrc location=/usr/share/doc/opencv-doc/examples/data/Megamind.avi ! decodebin ! videoconvert ! video/x-raw,format=RGB)
  element=(fianceereenact model-location="$pkg" source-location="$photo")
  ;;
synth)
  pkg=assets/scenes-demo
  [ -s "$out/scenes/labels_0199.png" ] || $F make-scenes --out "$out/scenes" --frames 200 --height 128 --width 256 --seed 9 > /dev/null
  source=(multifilesrc location="$out/scenes/labels_%04d.png" caps=image/png,framerate=10/1 ! pngdec)
  element=(fianceesynth model-location="$pkg" backbone="${BACKBONE:-oasis}")
  pkg="$pkg/${BACKBONE:-oasis}"
  ;;
*) echo "usage: scripts/live-budget.sh reenact|synth [FACTOR] [properties...]" >&2; exit 2 ;;
esac
backbone=$($F inspect "$pkg" | awk '$1 == "exits" {print $2 - 1; exit}')

# run CSV PROPERTY...: the live-paced pipeline once.
run() {
  local csv="$1"
  shift
  gst-launch-1.0 -q "${source[@]}" ! identity sync=true ! queue leaky=downstream max-size-buffers=1 ! \
    "${element[@]}" stats-location="$csv" "$@" ! queue max-size-buffers=2 ! fakesink sync=true
}
# Columns: 7 passthrough, 3 exit, 13 frame_ms, 16 budget_limited; the first frame (warm-up) is left out.
rendered() { awk -F, 'NR > 2 && $7 == 0' "$1"; }
# quantile CSV Q: the Q-quantile of frame_ms over rendered frames.
quantile() { rendered "$1" | cut -d, -f13 | sort -g | awk -v q="$2" '{ t[NR] = $1 } END { print t[int(NR * q) + 1] }'; }
summary() {
  printf "%d frames, frame_ms p50 %.1f p95 %.1f" "$(rendered "$1" | wc -l)" "$(quantile "$1" 0.5)" "$(quantile "$1" 0.95)"
  rendered "$1" | awk -F, -v budget="$2" '{ n++; fit += ($13 <= budget); lim += $16; ex[$3]++ }
    END { if (budget > 0) printf ", within %.1f ms: %.1f%%, budget-limited: %.1f%%", budget, 100 * fit / n, 100 * lim / n
          printf ", exits:"; for (e = 0; e < 64; e++) if (e in ex) printf " %d:%.1f%%", e, 100 * ex[e] / n; printf "\n" }'
}

echo "== $what, $(nproc) cores, $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
run "$out/$what-backbone.csv" exit="$backbone" "$@"
echo "backbone (exit=$backbone):        $(summary "$out/$what-backbone.csv" 0)"
b=$(quantile "$out/$what-backbone.csv" 0.5)
budget=$(echo "$factor * $b" | bc -l | xargs printf "%.1f")
run "$out/$what-routed.csv" "$@"
echo "routed, no budget:               $(summary "$out/$what-routed.csv" "$budget")"
run "$out/$what-budget.csv" latency-budget="$budget" "$@"
echo "routed, latency-budget=$budget ($factor x backbone median $b ms): $(summary "$out/$what-budget.csv" "$budget")"
