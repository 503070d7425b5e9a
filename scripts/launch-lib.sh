# Sourced by the demo scripts: one way to run a demo pipeline and report it.
# run_demo NAME OUT gst-launch-arguments...: runs gst-launch-1.0 -m with them
# (log in build/NAME-gst.log, shown on failure), prints the element's last
# fiancee-summary and fails unless OUT was written.
run_demo() {
  local name="$1" out="$2" log="build/$1-gst.log"
  shift 2
  if ! gst-launch-1.0 -m "$@" > "$log" 2>&1; then
    cat "$log" >&2
    echo "$name: gst-launch-1.0 failed (log above, also in $log)" >&2
    exit 1
  fi
  grep -E "fiancee-summary" "$log" | tail -n 1 | cut -c1-400 || true
  [ -s "$out" ] || { echo "$name: no output was written to $out" >&2; exit 1; }
}
