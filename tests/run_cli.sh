#!/usr/bin/env bash
# The fiancee command line (tools/cli.cc): help for every command; usage errors
# exit 2 naming what is wrong; a failing command exits 1; --threads on either
# side of the command name.
set -euo pipefail
FIANCEE="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect STATUS TEXT ARGS...: `fiancee ARGS` exits with STATUS and prints TEXT (stdout or stderr).
expect() {
  local want="$1" text="$2" rc=0
  shift 2
  "$FIANCEE" "$@" > "$tmp/out.txt" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || fail "fiancee $*: exit $rc, expected $want: $(cat "$tmp/out.txt")"
  grep -qF -- "$text" "$tmp/out.txt" || fail "fiancee $*: output lacks '$text': $(cat "$tmp/out.txt")"
}

"$FIANCEE" --help > "$tmp/help.txt" || fail "fiancee --help exits non-zero"
mapfile -t commands < <(awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' "$tmp/help.txt")
# The table in tools/cli.cc holds 14 commands; `help` is the 15th.
[ "${#commands[@]}" -eq 15 ] || fail "fiancee --help lists ${#commands[@]} commands, expected 15: ${commands[*]}"
grep -q "Exit status: 0 success; 1 the command failed" "$tmp/help.txt" || fail "fiancee --help does not document the exit status"
for c in "${commands[@]}"; do expect 0 "Usage: fiancee $c" "$c" --help; done
expect 0 "Usage: fiancee eval [OPTIONS] PACKAGE" help eval
expect 0 "Commands:" help
echo "ok 1 - --help and the help of each of the ${#commands[@]} commands"

rc=0
"$FIANCEE" > "$tmp/out.txt" 2> "$tmp/err.txt" || rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out.txt" ] && grep -q "Usage: fiancee" "$tmp/err.txt" || fail "fiancee without arguments: exit $rc, usage not on stderr alone"
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "unknown option --thresold" eval PACKAGE --thresold 0.1
expect 2 "Run 'fiancee eval --help'" eval PACKAGE --thresold 0.1
expect 2 "--frames: 'abc' is not an integer" make-scenes --out "$tmp/s" --frames abc
expect 2 "--lr: 'fast' is not a number" train-backbone --work "$tmp/w" --lr fast
expect 2 "--device: gpu not in {auto,cpu,cuda}" bench --device gpu
expect 2 "--split: train not in {test,validation}" eval PACKAGE --split train
expect 2 "--arch: g2d not in" bench --arch g2d-paper,g2d
expect 2 "--work is required" train-branches --steps 1
expect 2 "PACKAGE is required" inspect
expect 2 "unexpected argument 'B'" inspect A B
expect 2 "INPUT is required" render PACKAGE
expect 2 "--threads: must be 0 (all cores) or more" --threads -1 flops
[ ! -e "$tmp/s" ] && [ ! -e "$tmp/w" ] || fail "a command ran despite a usage error"
echo "ok 2 - usage errors exit 2 and name the culprit"

expect 1 "fiancee inspect: error: " inspect "$tmp/no-such-package"
echo "ok 3 - a failing command exits 1"

# bench prints the thread count in force, so these see that --threads took effect.
"$FIANCEE" make-demo-package --out "$tmp/pkg" > /dev/null
expect 0 "on cpu, 1 threads" --threads 1 bench --package "$tmp/pkg" --device cpu --runs 1 --warmup 0
expect 0 "on cpu, 2 threads" bench --package "$tmp/pkg" --device cpu --runs 1 --warmup 0 --threads 2
echo "ok 4 - --threads before or after the command, in force"

# inspect runs the element's start checks: a package the element would refuse is not "valid".
expect 0 "valid" inspect "$tmp/pkg"
# A reenactment graph declared as a synthesis package.
sed -i 's/"pipeline": "reenact"/"pipeline": "synth"/' "$tmp/pkg/manifest.json"
grep -q '"pipeline": "synth"' "$tmp/pkg/manifest.json" || fail "could not edit the manifest"
expect 1 "synthesis runs" inspect "$tmp/pkg"
echo "ok 5 - inspect refuses what the element would refuse"

# render: several inputs through one shared engine; one bad input fails alone.
"$FIANCEE" make-demo-package --pipeline synth --out "$tmp/synth-pkg" > /dev/null
"$FIANCEE" make-scenes --out "$tmp/clip-a" --frames 4 --height 32 --width 64 > /dev/null
"$FIANCEE" make-scenes --out "$tmp/clip-b" --frames 4 --height 32 --width 64 --seed 2 > /dev/null
rm "$tmp"/clip-*/colour_*.png  # label maps only
"$FIANCEE" render "$tmp/synth-pkg" "$tmp/clip-a" "$tmp/clip-b" --out "$tmp/rendered" --batch-window 1000 > "$tmp/render.txt" 2>&1 \
  || fail "render of two label-map folders failed: $(cat "$tmp/render.txt")"
for c in clip-a clip-b; do
  [ "$(ls "$tmp/rendered/$c" | wc -l)" -eq 4 ] || fail "render wrote $(ls "$tmp/rendered/$c" | wc -l) frames for $c, expected 4"
  grep -q "$c: 4 frames .*batched with other inputs [1-4]," "$tmp/render.txt" || fail "render: $c not reported as 4 frames batched: $(cat "$tmp/render.txt")"
done
"$FIANCEE" make-scenes --out "$tmp/clip-c" --frames 2 --height 32 --width 64 > /dev/null  # with its RGB colour_*.png
expect 1 "clip-c/colour_0000.png: a label map must be an 8-bit single-channel" render "$tmp/synth-pkg" "$tmp/clip-b" "$tmp/clip-c" --out "$tmp/r2"
grep -q "clip-b: 4 frames" "$tmp/out.txt" || fail "a bad input stopped the good one: $(cat "$tmp/out.txt")"
"$FIANCEE" make-demo-package --out "$tmp/reenact-pkg" > /dev/null
expect 1 "give the avatar with --photo" render "$tmp/reenact-pkg" "$tmp/clip-a"
echo "ok 6 - render: inputs share one engine, frames batched; a bad input fails alone (exit 1)"
