#!/bin/sh
# End to end through the real plugin file: gst-inspect-1.0 and gst-launch-1.0
# with fianceereenact on a demo package written by the fiancee CLI.
# Usage: run_gst_launch.sh FIANCEE_CLI   (GST_PLUGIN_PATH must hold the plugin)
set -eu

FIANCEE=${1:?usage: run_gst_launch.sh FIANCEE_CLI}
GST_LAUNCH=${GST_LAUNCH:-gst-launch-1.0}
GST_INSPECT=${GST_INSPECT:-gst-inspect-1.0}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fiancee-gst-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.txt; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
  done
  exit 1
}

"$FIANCEE" make-demo-package --out "$tmp/pkg" > "$tmp/make.txt" 2>&1 || fail "fiancee make-demo-package"
[ -f "$tmp/pkg/source.png" ] || fail "make-demo-package wrote no source.png"
pkg=$tmp/pkg
src=$tmp/pkg/source.png

# 1. The plugin loads; gst-inspect shows the properties and the example line.
"$GST_INSPECT" fianceereenact > "$tmp/inspect.txt" 2>&1 || fail "gst-inspect-1.0 fianceereenact"
for word in model-location source-location quality-threshold scale-factor device exit summary-interval \
            qos-degrade stats "gst-launch-1.0 filesrc"; do
  grep -q -- "$word" "$tmp/inspect.txt" || fail "gst-inspect output lacks '$word'"
done
echo "ok 1 - gst-inspect-1.0 fianceereenact"

# 2. A real pipeline runs to EOS and posts a summary every 5 frames.
"$GST_LAUNCH" -m videotestsrc num-buffers=10 ! video/x-raw,format=RGB,width=96,height=80 ! \
  fianceereenact model-location="$pkg" source-location="$src" no-face=neutral summary-interval=5 \
  stats-location="$tmp/frames.csv" measure-quality=true ! fakesink \
  > "$tmp/run.txt" 2>&1 || fail "gst-launch-1.0 pipeline failed"
n=$(grep -c "fiancee-summary" "$tmp/run.txt" || true)
[ "$n" -eq 2 ] || fail "expected 2 fiancee-summary messages, got $n"
grep -q "frames=(guint64)10" "$tmp/run.txt" || fail "last summary does not count 10 frames"
if grep -q "ERROR" "$tmp/run.txt"; then fail "errors on the bus"; fi
lines=$(wc -l < "$tmp/frames.csv")
[ "$lines" -eq 11 ] || fail "stats-location CSV has $lines lines, expected a header + 10 frames"
# Every frame is measured: column 12 (measured_quality) is a number >= 0.
awk -F, 'NR > 1 && !($12 >= 0 && $12 != "") { bad = 1 } END { exit bad }' "$tmp/frames.csv" || fail "frames without measured quality"
echo "ok 2 - videotestsrc ! fianceereenact ! fakesink (per-frame CSV with measured quality)"

# 3. Usual use: any format in, videoconvert on both sides; a forced exit; a live source.
"$GST_LAUNCH" videotestsrc num-buffers=5 is-live=true ! video/x-raw,width=72,height=64 ! videoconvert ! \
  fianceereenact model-location="$pkg" source-location="$src" no-face=neutral exit=0 ! videoconvert ! fakesink sync=true \
  > "$tmp/convert.txt" 2>&1 || fail "videoconvert ! fianceereenact ! videoconvert pipeline failed"
echo "ok 3 - live source with videoconvert on both sides"

# 4. A missing package is an error naming it, not a crash.
if "$GST_LAUNCH" videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=96,height=80 ! \
  fianceereenact model-location="$tmp/no-such-package" source-location="$src" ! fakesink \
  > "$tmp/missing.txt" 2>&1; then
  fail "a missing model-location did not fail the pipeline"
fi
grep -q "$tmp/no-such-package" "$tmp/missing.txt" || fail "the error does not name the missing package"
echo "ok 4 - missing model-location is an error naming it"

# 4b. A photo without a face stops the pipeline with an error naming the photo (its domain: test_element).
"$GST_LAUNCH" -q videotestsrc num-buffers=1 pattern=snow ! video/x-raw,format=RGB,width=320,height=240 ! pngenc ! \
  filesink location="$tmp/noface.png" > /dev/null 2>&1 || fail "could not write a test photo"
if "$GST_LAUNCH" videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=96,height=80 ! \
  fianceereenact model-location="$pkg" source-location="$tmp/noface.png" ! fakesink > "$tmp/noface.txt" 2>&1; then
  fail "a photo without a face did not fail the pipeline"
fi
grep -q "noface.png.*no face found" "$tmp/noface.txt" || fail "the error does not name the photo and say why: $(cat "$tmp/noface.txt")"
echo "ok 4b - a photo without a face is an error naming it"

# 5. Unsupported caps are refused by negotiation.
if "$GST_LAUNCH" videotestsrc num-buffers=1 ! video/x-raw,format=GRAY8,width=96,height=80 ! \
  fianceereenact model-location="$pkg" source-location="$src" ! fakesink > "$tmp/gray.txt" 2>&1; then
  fail "GRAY8 input was accepted"
fi
grep -qi "not-negotiated\|could not link\|not negotiated" "$tmp/gray.txt" || fail "GRAY8 failure is not a negotiation error"
echo "ok 5 - GRAY8 input is refused"

# 6. fianceesynth: gst-inspect, then a procedural label-map video (GRAY8 PNGs) rendered to PNGs.
"$GST_INSPECT" fianceesynth > "$tmp/inspect-synth.txt" 2>&1 || fail "gst-inspect-1.0 fianceesynth"
for word in model-location backbone seed noise quality-threshold scale-factor database-location device exit stats \
            "gst-launch-1.0 multifilesrc" GRAY8 RGB; do
  grep -q -- "$word" "$tmp/inspect-synth.txt" || fail "gst-inspect fianceesynth output lacks '$word'"
done
"$FIANCEE" make-demo-package --pipeline synth --out "$tmp/scenes-pkg/oasis" > "$tmp/make-synth.txt" 2>&1 || fail "make-demo-package --pipeline synth"
"$FIANCEE" make-demo-package --pipeline synth --family asap --out "$tmp/scenes-pkg/asap" >> "$tmp/make-synth.txt" 2>&1 \
  || fail "make-demo-package --pipeline synth --family asap"
"$FIANCEE" make-scenes --out "$tmp/scenes" --frames 6 --height 32 --width 64 > "$tmp/scenes.txt" 2>&1 || fail "fiancee make-scenes"
mkdir "$tmp/synth-out"
"$GST_LAUNCH" -m multifilesrc location="$tmp/scenes/labels_%04d.png" caps=image/png,framerate=10/1 ! pngdec ! \
  fianceesynth model-location="$tmp/scenes-pkg" backbone=oasis summary-interval=3 stats-location="$tmp/synth.csv" ! \
  videoconvert ! pngenc ! multifilesink location="$tmp/synth-out/out_%04d.png" > "$tmp/synth.txt" 2>&1 \
  || fail "multifilesrc ! pngdec ! fianceesynth ! pngenc pipeline failed"
[ "$(ls "$tmp/synth-out" | wc -l)" -eq 6 ] || fail "expected 6 rendered frames, got $(ls "$tmp/synth-out" | wc -l)"
[ "$(grep -c fiancee-summary "$tmp/synth.txt" || true)" -eq 2 ] || fail "expected 2 fiancee-summary messages from fianceesynth"
[ "$(wc -l < "$tmp/synth.csv")" -eq 7 ] || fail "fianceesynth stats CSV should hold a header + 6 frames"
echo "ok 6 - multifilesrc ! pngdec ! fianceesynth ! pngenc (GRAY8 label maps in, RGB out)"

# 7. RGB into fianceesynth is refused by negotiation.
if "$GST_LAUNCH" videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=64,height=32 ! \
  fianceesynth model-location="$tmp/scenes-pkg" ! fakesink > "$tmp/synth-rgb.txt" 2>&1; then
  fail "RGB input to fianceesynth was accepted"
fi
grep -qi "not-negotiated\|could not link\|not negotiated" "$tmp/synth-rgb.txt" || fail "RGB into fianceesynth is not a negotiation error"
echo "ok 7 - RGB input to fianceesynth is refused"

# 8. A BYTES segment (filesrc here; appsrc's default format too) has no running time: frames render
#    without QoS and without a GLib CRITICAL (fatal under the test's G_DEBUG=fatal-criticals).
"$GST_LAUNCH" -q videotestsrc num-buffers=3 ! video/x-raw,format=RGB,width=96,height=80 ! \
  filesink location="$tmp/frames.rgb" > /dev/null 2>&1 || fail "could not write raw test frames"
"$GST_LAUNCH" -m filesrc location="$tmp/frames.rgb" blocksize=23040 ! \
  video/x-raw,format=RGB,width=96,height=80,framerate=0/1 ! \
  fianceereenact model-location="$pkg" source-location="$src" no-face=neutral summary-interval=3 ! fakesink \
  > "$tmp/bytes.txt" 2>&1 || fail "a BYTES-segment pipeline failed"
if grep -q "CRITICAL" "$tmp/bytes.txt"; then fail "GLib CRITICAL with a BYTES segment"; fi
grep -q "frames=(guint64)3" "$tmp/bytes.txt" || fail "the BYTES-segment pipeline did not render 3 frames"
echo "ok 8 - BYTES segment: no QoS, no CRITICAL"

# 9. A stats-location that fails mid-stream (full disk): one warning naming the file and the OS
#    error, every frame still comes out.
if [ -w /dev/full ]; then
  "$GST_LAUNCH" -m videotestsrc num-buffers=300 ! video/x-raw,format=RGB,width=96,height=80 ! \
    fianceereenact model-location="$pkg" source-location="$src" summary-interval=300 stats-location=/dev/full ! \
    fakesink > "$tmp/full.txt" 2>&1 || fail "stats-location=/dev/full stopped the pipeline"
  [ "$(grep -c "^WARNING: from element .*stats-location '/dev/full'" "$tmp/full.txt" || true)" -eq 1 ] \
    || fail "expected one warning naming /dev/full: $(grep "^WARNING" "$tmp/full.txt")"
  grep -q "No space left on device" "$tmp/full.txt" || fail "the warning does not give the OS error"
  grep -q "frames=(guint64)300" "$tmp/full.txt" || fail "not every frame came out with stats-location=/dev/full"
  echo "ok 9 - stats-location=/dev/full: one warning, the video goes on"
else
  echo "ok 9 # SKIP no writable /dev/full"
fi

# 10. Live use. (a) A live test source through the live-stream properties: every frame comes out,
#     the element announces its latency, and a package without calibration frames says so once.
"$GST_LAUNCH" -m videotestsrc is-live=true num-buffers=90 ! video/x-raw,format=RGB,width=96,height=80,framerate=30/1 ! \
  queue leaky=downstream max-size-buffers=1 ! \
  fianceereenact model-location="$pkg" source-location="$src" no-face=neutral latency-budget=5 target-miss-rate=0.05 \
    exit-hysteresis=5 summary-interval=10 stats-location="$tmp/live-test.csv" ! fakesink sync=true \
  > "$tmp/live-test.txt" 2>&1 || fail "live videotestsrc pipeline with latency-budget and target-miss-rate failed"
if grep -q "ERROR" "$tmp/live-test.txt"; then fail "errors on the bus of the live pipeline"; fi
grep -q "(latency)" "$tmp/live-test.txt" || fail "the element posted no latency message in a live pipeline"
[ "$(grep -c "no calibration frames" "$tmp/live-test.txt" || true)" -eq 1 ] \
  || fail "expected one warning that the demo package has no calibration frames"
# The leaky queue drops what the element cannot take in time (the first frames include warm-up).
rendered=$(awk -F, 'NR > 1 && $7 == 0 && $13 > 0' "$tmp/live-test.csv" | wc -l)
[ "$rendered" -ge 3 ] || fail "only $rendered frames of the live source were rendered with a frame time"
echo "ok 10a - live videotestsrc: latency-budget, target-miss-rate, exit-hysteresis; latency announced"

# (b) A camera stand-in paced in real time: the bundled refiner's avatar photo for 10 frames, a black
#     picture for 20 (longer than face-hold-frames), the face again for 10. Frames without a face pass
#     through; once the face is back it is rendered again. The calibrated bundled package: no warning.
root=$(cd "$(dirname "$0")/.." && pwd)
refiner="$root/assets/refiner-256"
mkdir "$tmp/cam"
"$GST_LAUNCH" -q videotestsrc num-buffers=1 pattern=black ! video/x-raw,format=RGB,width=256,height=256 ! pngenc ! \
  filesink location="$tmp/black.png" > /dev/null 2>&1 || fail "could not write a black frame"
i=0
for what in face face face face face face face face face face \
            black black black black black black black black black black black black black black black black black black black black \
            face face face face face face face face face face; do
  if [ "$what" = face ]; then cp "$refiner/source.png" "$tmp/cam/f_$(printf %04d $i).png"; else cp "$tmp/black.png" "$tmp/cam/f_$(printf %04d $i).png"; fi
  i=$((i + 1))
done
"$GST_LAUNCH" -m multifilesrc location="$tmp/cam/f_%04d.png" caps=image/png,framerate=15/1 ! pngdec ! videoconvert ! videoscale ! \
  video/x-raw,format=RGB,width=256,height=256 ! identity sync=true ! queue leaky=downstream max-size-buffers=1 ! \
  fianceereenact model-location="$refiner" source-location="$refiner/source.png" latency-budget=200 target-miss-rate=0.05 \
    exit-hysteresis=5 stats-location="$tmp/cam.csv" ! videoconvert ! fakesink sync=true \
  > "$tmp/cam.txt" 2>&1 || fail "camera stand-in pipeline failed"
if grep -q "ERROR\|WARNING" "$tmp/cam.txt"; then fail "errors or warnings on the bus of the camera stand-in pipeline"; fi
# pts in ns at 15 fps: face before 10/15 s, black from there to 30/15 s, face again after.
awk -F, -v s=1000000000 'NR == 1 { next }
  $2 < 10 * s / 15 && $7 == 0 { before++ }
  $2 >= 24 * s / 15 && $2 < 30 * s / 15 && $7 == 1 { gone++ }
  $2 >= 31 * s / 15 && $7 == 0 { back++ }
  END { printf "face rendered before: %d, passed through without a face: %d, rendered after it came back: %d\n", before, gone, back
        exit !(before >= 1 && gone >= 1 && back >= 1) }' "$tmp/cam.csv" > "$tmp/cam-check.txt" \
  || fail "the face leaving and coming back was not handled: $(cat "$tmp/cam-check.txt")"
echo "ok 10b - camera stand-in: face, no face, face again ($(cat "$tmp/cam-check.txt"))"

# 11. Many streams, one engine: two fianceesynth elements in one pipeline name the same shared-engine.
#     Both render every frame; with a batch window longer than a frame, their frames run as batches of two.
"$GST_LAUNCH" -m \
  multifilesrc location="$tmp/scenes/labels_%04d.png" caps=image/png,framerate=10/1 ! pngdec ! \
    fianceesynth name=one model-location="$tmp/scenes-pkg" backbone=oasis shared-engine=scenes batch-window=1000 summary-interval=6 ! fakesink \
  multifilesrc location="$tmp/scenes/labels_%04d.png" caps=image/png,framerate=10/1 ! pngdec ! \
    fianceesynth name=two model-location="$tmp/scenes-pkg" backbone=oasis shared-engine=scenes batch-window=1000 summary-interval=6 ! fakesink \
  > "$tmp/shared.txt" 2>&1 || fail "two fianceesynth elements sharing one engine: pipeline failed"
for e in one two; do
  grep "fiancee-summary" "$tmp/shared.txt" | grep -q "element \"$e\".*frames=(guint64)6,.*batched-frames=(guint64)[1-6]," \
    || fail "element $e: no summary of 6 frames of which some ran batched with the other stream"
done
echo "ok 11 - two elements, one shared engine: both streams render, frames batched across them"
