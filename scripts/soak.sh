#!/usr/bin/env bash
# Soak test: runs each element in gst-launch-1.0 over a looped input for a
# fixed time and watches its memory and its log.
#   scripts/soak.sh DURATION_SECONDS [synth|reenact|both|cycles]     (default both: one after the other)
# reenact: fianceereenact with assets/refiner-256 animating astronaut.png
#   (scripts/fetch-photo.sh) by OpenCV's Megamind.avi, decoded once to JPEG
#   frames that multifilesrc loop=true plays round and round.
# synth: fianceesynth with assets/scenes-demo (BACKBONE, default oasis) over
#   100 procedural label maps (`fiancee make-scenes`) looped the same way.
# cycles: the element test Element.StateCyclesWithPropertiesChangedFromAnotherThread
#   with FIANCEE_STATE_CYCLES (default 200) NULL -> PLAYING -> NULL cycles per
#   element while another thread changes properties; it fails on any error or
#   on RSS growth of 2% or more after the first 10 cycles (DURATION_SECONDS unused).
# Both run as fast as they can (fakesink sync=false). Every 5 s the RSS of the
# gst-launch-1.0 process is sampled into out/soak/<element>-rss.csv
# (time_s,rss_kb,frames; frames from the element's fiancee-summary messages,
# every 10 frames). At the end (SIGINT, gst-launch-1.0 -e: EOS, so the per-frame
# CSV is complete) it prints: frames, fps, ERROR/CRITICAL and WARN/WARNING lines
# in the log, the RSS after the warm-up (first WARMUP_S s, default 60; at most
# half the run) and at the end, and the growth in percent.
# Needs a build (scripts/build.sh): the plugin is taken from build/plugin
# (GST_PLUGIN_PATH) and the CLI from build/tools. Environment: REENACT_PACKAGE, SYNTH_PACKAGE, PHOTO,
# DRIVER, BACKBONE, WARMUP_S, SOAK_OUT (out/soak), GST_DEBUG (2: warnings and errors).
# Exit status: 0 when every run ended cleanly with frames and no ERROR/CRITICAL line, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/soak.sh DURATION_SECONDS [synth|reenact|both|cycles]"
duration="${1:?$usage}"
what="${2:-both}"
case "$what" in synth) elements=(synth) ;; reenact) elements=(reenact) ;; both) elements=(reenact synth) ;;
  cycles)
    [ -x build/tests/test_element ] || { echo "soak: build the tests first (scripts/build.sh)" >&2; exit 1; }
    exec env FIANCEE_STATE_CYCLES="${FIANCEE_STATE_CYCLES:-200}" GST_PLUGIN_PATH= GST_REGISTRY="${TMPDIR:-/tmp}/fiancee-cycles-registry.bin" \
      G_DEBUG=fatal-criticals build/tests/test_element --gtest_filter='Element.StateCycles*' ;;
  *) echo "$usage" >&2; exit 2 ;; esac
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 10 ] || { echo "$usage (DURATION_SECONDS >= 10)" >&2; exit 2; }
[ -f build/plugin/libgstfiancee.so ] && [ -x build/tools/fiancee ] || { echo "soak: build first (scripts/build.sh)" >&2; exit 1; }
out="${SOAK_OUT:-out/soak}"
mkdir -p "$out"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/fiancee-soak-XXXXXX")"
gst_pid=""
cleanup() {
  if [ -n "$gst_pid" ] && kill -0 "$gst_pid" 2> /dev/null; then kill "$gst_pid" 2> /dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export GST_REGISTRY="$tmp/registry.bin"  # a private registry: sees this build's plugin, touches no one else's
export GST_DEBUG="${GST_DEBUG:-2}"
export GST_DEBUG_NO_COLOR=1
warmup="${WARMUP_S:-60}"
[ "$warmup" -le $(( duration / 2 )) ] || warmup=$(( duration / 2 ))
status=0

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2> /dev/null || echo 0; }
# Frames so far: the frames= field of the element's last fiancee-summary message.
frames_so_far() {
  grep -o 'fiancee-summary, frames=(guint64)[0-9]*' "$1" 2> /dev/null | tail -n 1 | sed 's/.*)//' || true
}

# soak NAME gst-launch-arguments...
soak() {
  local name="$1" log="$out/$1-gst.log" rss="$out/$1-rss.csv" start now t f r
  shift
  echo "soak: $name for ${duration}s (log $log, RSS $rss)"
  echo "time_s,rss_kb,frames" > "$rss"
  gst-launch-1.0 -e -m "$@" > "$log" 2>&1 &
  gst_pid=$!
  start=$(date +%s)
  while kill -0 "$gst_pid" 2> /dev/null; do
    now=$(date +%s)
    t=$(( now - start ))
    [ "$t" -lt "$duration" ] || break
    if [ $(( t % 5 )) -eq 0 ] && ! grep -q "^$t," "$rss"; then
      r="$(rss_kb "$gst_pid")"
      f="$(frames_so_far "$log")"
      echo "$t,$r,${f:-0}" >> "$rss"
      [ $(( t % 30 )) -ne 0 ] || echo "soak: $name ${t}s: rss ${r} kB, ${f:-0} frames"
    fi
    sleep 0.5
  done
  local ended_early=0
  if kill -0 "$gst_pid" 2> /dev/null; then
    t=$(( $(date +%s) - start ))
    echo "$t,$(rss_kb "$gst_pid"),$(frames_so_far "$log")" >> "$rss"
    kill -INT "$gst_pid" 2> /dev/null || true  # -e: EOS first, so files are complete
    for _ in $(seq 60); do kill -0 "$gst_pid" 2> /dev/null || break; sleep 0.5; done
    if kill -0 "$gst_pid" 2> /dev/null; then
      echo "soak: $name did not stop within 30 s of SIGINT; killed" >&2
      kill -KILL "$gst_pid" 2> /dev/null || true
      status=1
    fi
  else
    ended_early=1
  fi
  local rc=0
  wait "$gst_pid" || rc=$?
  gst_pid=""
  if [ "$ended_early" -eq 1 ]; then
    echo "soak: $name: gst-launch-1.0 ended after $(( $(date +%s) - start ))s (exit $rc), before the duration" >&2
    tail -n 20 "$log" >&2
    status=1
  fi

  local csv="$out/$name-frames.csv" frames errors warnings
  frames=0
  [ -s "$csv" ] && frames=$(( $(wc -l < "$csv") - 1 ))
  errors=$(grep -c -E 'ERROR|CRITICAL|\(error\)' "$log" || true)
  warnings=$(grep -c -E 'WARN|\(warning\)' "$log" || true)
  awk -F, -v name="$name" -v warm="$warmup" -v frames="$frames" -v dur="$duration" -v errors="$errors" -v warnings="$warnings" '
    NR == 1 { next }
    $2 > 0 { last = $2; last_t = $1; if ($1 <= warm || w == "") { w = $2; w_t = $1 } if ($2 > peak) peak = $2 }
    END {
      growth = (w > 0) ? 100 * (last - w) / w : 0
      printf "soak: %s summary: %d frames in %ds (%.2f fps), %d ERROR/CRITICAL lines, %d WARN/WARNING lines\n", name, frames, dur, frames / dur, errors, warnings
      printf "soak: %s RSS: %d kB after warm-up (t=%ds) -> %d kB at the end (t=%ds), growth %+.1f%%, peak %d kB\n", name, w, w_t, last, last_t, growth, peak
    }' "$rss" | tee -a "$out/summary.txt"
  if [ "$errors" -gt 0 ]; then
    echo "soak: $name: first error lines:" >&2
    grep -E 'ERROR|CRITICAL|\(error\)' "$log" | head -n 5 | cut -c1-300 >&2
    status=1
  fi
  [ "$frames" -gt 0 ] || status=1
  if [ "$warnings" -gt 0 ]; then
    echo "soak: $name: first warning lines:"
    grep -E 'WARN|\(warning\)' "$log" | head -n 3 | cut -c1-300
  fi
}

echo "soak: $(date -u +%FT%TZ), $(nproc) CPUs, warm-up ${warmup}s; results in $out/" | tee -a "$out/summary.txt"
for element in "${elements[@]}"; do
  case "$element" in
  reenact)
    pkg="${REENACT_PACKAGE:-assets/refiner-256}"
    photo="${PHOTO:-$(scripts/fetch-photo.sh)}"
    driver="${DRIVER:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}"
    [ -f "$driver" ] || { echo "soak: no driver video $driver (Debian package opencv-doc)" >&2; exit 1; }
    mkdir -p "$tmp/driver"
    GST_DEBUG=0 gst-launch-1.0 -q filesrc location="$driver" ! decodebin ! videoconvert ! jpegenc quality=95 \
      ! multifilesink location="$tmp/driver/f_%05d.jpg" > /dev/null
    echo "soak: reenact: $(find "$tmp/driver" -name '*.jpg' | wc -l) driver frames from $driver, looped; photo $photo, package $pkg"
    soak reenact multifilesrc location="$tmp/driver/f_%05d.jpg" loop=true caps=image/jpeg,framerate=25/1 ! jpegdec \
      ! videoconvert ! video/x-raw,format=RGB \
      ! fianceereenact model-location="$pkg" source-location="$photo" summary-interval=10 \
        stats-location="$out/reenact-frames.csv" \
      ! fakesink sync=false
    ;;
  synth)
    pkg="${SYNTH_PACKAGE:-assets/scenes-demo}"
    build/tools/fiancee make-scenes --out "$tmp/scenes" --frames 100 --height 128 --width 256 > "$tmp/scenes.log" 2>&1 \
      || { cat "$tmp/scenes.log" >&2; exit 1; }
    echo "soak: synth: 100 label maps, looped; package $pkg, backbone ${BACKBONE:-oasis}"
    soak synth multifilesrc location="$tmp/scenes/labels_%04d.png" loop=true caps=image/png,framerate=10/1 ! pngdec \
      ! fianceesynth model-location="$pkg" backbone="${BACKBONE:-oasis}" summary-interval=10 \
        stats-location="$out/synth-frames.csv" \
      ! fakesink sync=false
    ;;
  esac
done
exit "$status"
