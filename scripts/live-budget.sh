#!/usr/bin/env bash
# latency-budget end to end in gst-launch-1.0 with a source paced in real time
# (a camera stand-in: frames arrive at the clip's rate, a leaky one-frame queue
# drops what the element cannot take):
#   1. the element's time per frame when every frame takes the backbone (exit=N-1): median B;
#   2. the same stream routed at the package's default threshold with latency-budget = FACTOR x B:
#      the share of frames whose whole time (frame_ms) fits the budget, p50/p95 frame_ms, the
#      frames the budget sent below the threshold's quality (budget-limited) and the exits taken.
#   scripts/live-budget.sh reenact|synth [FACTORS (0.6)] [element properties...]
# FACTORS may be a comma-separated grid (e.g. 0.4,0.6,0.8,1.0): one budgeted run per factor,
# one row each in out/live-budget/<what>-grid.csv, and with gnuplot (Debian's gnuplot-nox)
# <what>-grid.png: p50/p95 whole-frame time and the share of frames within budget against the budget.
# reenact: assets/refiner-256, astronaut.png, Megamind.avi; synth: assets/scenes-demo (oasis unless
# BACKBONE=asap), 200 procedural label maps at 10 fps. Needs a build (scripts/build.sh); CSVs in out/live-budget/.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:?usage: scripts/live-budget.sh reenact|synth [FACTORS] [properties...]}"
factors="${2:-0.6}"
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
*) echo "usage: scripts/live-budget.sh reenact|synth [FACTORS] [properties...]" >&2; exit 2 ;;
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
# stats CSV BUDGET: "frames within budget_limited shares" over the rendered frames: the share of
# frames whose frame_ms fits BUDGET, the share the budget sent below the threshold's quality, and
# each exit's share as EXIT:SHARE;... (-1: the warp alone).
stats() {
  rendered "$1" | awk -F, -v budget="$2" '{ n++; fit += ($13 <= budget); lim += $16; ex[$3]++ }
    END { s = ""; for (e = -1; e < 64; e++) if (e in ex) s = s sprintf("%s%d:%.3f", s == "" ? "" : ";", e, ex[e] / n)
          printf "%d %.3f %.3f %s\n", n, fit / n, lim / n, s }'
}
summary() {
  local n within limited shares
  read -r n within limited shares < <(stats "$1" "$2")
  printf "%d frames, frame_ms p50 %.1f p95 %.1f" "$n" "$(quantile "$1" 0.5)" "$(quantile "$1" 0.95)"
  [ "$2" = 0 ] || printf ", within %.1f ms: %.1f%%, budget-limited: %.1f%%" "$2" "$(echo "100 * $within" | bc -l)" "$(echo "100 * $limited" | bc -l)"
  printf ", exit shares: %s\n" "$shares"
}

echo "== $what, $(nproc) cores, $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
run "$out/$what-backbone.csv" exit="$backbone" "$@"
echo "backbone (exit=$backbone):        $(summary "$out/$what-backbone.csv" 0)"
b=$(quantile "$out/$what-backbone.csv" 0.5)
run "$out/$what-routed.csv" "$@"
echo "routed, no budget:               $(summary "$out/$what-routed.csv" 0)"
grid="$out/$what-grid.csv"
echo "factor,budget_ms,p50_ms,p95_ms,within,budget_limited,exit_shares,within_without_budget" > "$grid"
for factor in ${factors//,/ }; do
  budget=$(echo "$factor * $b" | bc -l | xargs printf "%.1f")
  csv="$out/$what-budget-$factor.csv"
  run "$csv" latency-budget="$budget" "$@"
  echo "routed, latency-budget=$budget ($factor x backbone median $b ms): $(summary "$csv" "$budget")"
  read -r _ within limited shares < <(stats "$csv" "$budget")
  read -r _ within_unbudgeted _ _ < <(stats "$out/$what-routed.csv" "$budget")
  # The last column: the same budget against the routed run without one, i.e. what the budget changed.
  echo "$factor,$budget,$(quantile "$csv" 0.5),$(quantile "$csv" 0.95),$within,$limited,$shares,$within_unbudgeted" >> "$grid"
done
if command -v gnuplot > /dev/null; then
  gnuplot <<PLOT
set terminal pngcairo size 900,560 font ",11"
set output "$out/$what-grid.png"
set datafile separator ","
set title "$what: latency-budget vs whole-frame time, live-paced (backbone median $(printf %.1f "$b") ms)"
set xlabel "latency-budget (ms)"
set ylabel "frame time in the element (ms)"
set y2label "share of frames within budget"
set y2range [0:1]
set y2tics
set ytics nomirror
set key below
set yrange [0:*]
plot "$grid" using 2:3 skip 1 with linespoints title "p50", \
     "$grid" using 2:4 skip 1 with linespoints title "p95", \
     "$grid" using 2:2 skip 1 with lines dashtype 2 title "budget", \
     "$grid" using 2:5 skip 1 axes x1y2 with linespoints title "within budget (right axis)", \\
     "$grid" using 2:8 skip 1 axes x1y2 with linespoints dashtype 3 lc rgb "black" title "within it without the budget (right axis)"
PLOT
  echo "wrote $grid and $out/$what-grid.png"
else
  echo "wrote $grid (install gnuplot-nox for $what-grid.png)"
fi
