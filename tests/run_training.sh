#!/usr/bin/env bash
# Each train-* command on a tiny configuration: a few steps on one fixed batch
# must give finite losses that fall, then the package they write must validate.
set -euo pipefail
FIANCEE="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Column of "total" in a losses CSV: every value finite, and the mean of the
# last 3 steps below the mean of the first 3 (one step's loss is noisy: these
# tiny runs are not bit-reproducible across thread schedules).
check_falls() {
  local csv="$1"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "total") c = i; next }
           { v = $c + 0; if (v != v || $c ~ /inf|nan/) bad = 1; n++; x[n] = v }
           END { if (!c || bad || n < 6) exit 2;
                 first = (x[1] + x[2] + x[3]) / 3; last = (x[n] + x[n-1] + x[n-2]) / 3;
                 if (!(last < first)) exit 1;
                 printf "  %s: total %.4f -> %.4f (means of the first and last 3 steps)\n", FILENAME, first, last }' "$csv" \
    || fail "$csv: loss not finite or not falling"
}

"$FIANCEE" train-backbone --work "$tmp/w" --resolution 32 --channels 8 --identities 2 --scale-factors 1/2 \
  --steps 8 --batch 2 --fixed-batch --lr 2e-3 --quiet
check_falls "$tmp/w/checkpoints/train-backbone.losses.csv"
echo "ok 1 - train-backbone"

"$FIANCEE" train-branches --work "$tmp/w" --steps 8 --batch 2 --fixed-batch --quiet
check_falls "$tmp/w/checkpoints/train-branches-1_2.losses.csv"
echo "ok 2 - train-branches"

"$FIANCEE" train-predictor --work "$tmp/w" --steps 8 --batch 4 --fixed-batch --lr 1e-2 --quiet --calibration-frames 24
check_falls "$tmp/w/checkpoints/train-predictor-1_2.losses.csv"
"$FIANCEE" inspect "$tmp/w/package" > "$tmp/inspect-w.txt" || fail "the trained package does not validate"
grep -q "calibration  SF 1/2 *24 frames (procedural validation identities" "$tmp/inspect-w.txt" \
  || fail "train-predictor did not calibrate the package: $(grep calibration "$tmp/inspect-w.txt")"
echo "ok 3 - train-predictor wrote a valid, calibrated package"

# The refiner's options reach the architecture and the run's meta; bad values are refused.
"$FIANCEE" train-backbone --work "$tmp/r" --resolution 32 --channels 8 --identities 2 --scale-factors 1/2 \
  --steps 1 --batch 1 --residual-scale 2 --part-loss-weight 8 --quiet 2> /dev/null || fail "train-backbone --residual-scale --part-loss-weight"
grep -q '"residual_scale": 2' "$tmp/r/architecture.json" || fail "--residual-scale not in architecture.json"
grep -q '"part_loss_weight": 8' "$tmp/r/architecture.json" || fail "--part-loss-weight not in the run's meta"
if "$FIANCEE" train-backbone --work "$tmp/r2" --resolution 32 --channels 8 --steps 1 --residual-scale 9 --quiet 2> "$tmp/rs.txt"; then
  fail "--residual-scale 9 accepted"; fi
grep -q "residual_scale" "$tmp/rs.txt" || fail "--residual-scale 9: the error does not name the field: $(cat "$tmp/rs.txt")"
if "$FIANCEE" train-backbone --work "$tmp/r3" --resolution 32 --channels 8 --steps 1 --part-loss-weight -1 --quiet 2> "$tmp/pw.txt"; then
  fail "--part-loss-weight -1 accepted"; fi
grep -q "part-loss-weight" "$tmp/pw.txt" || fail "--part-loss-weight -1: the error does not name the option: $(cat "$tmp/pw.txt")"
echo "ok - train-backbone --residual-scale and --part-loss-weight"

# Resuming a finished run trains nothing more and keeps the result.
before=$(sha256sum "$tmp/w/backbone.safetensors" | cut -d' ' -f1)
"$FIANCEE" train-backbone --work "$tmp/w" --resolution 32 --channels 8 --identities 2 --scale-factors 1/2 \
  --steps 8 --batch 2 --fixed-batch --lr 2e-3 --quiet
[ "$(sha256sum "$tmp/w/backbone.safetensors" | cut -d' ' -f1)" = "$before" ] || fail "resume changed a finished run"
echo "ok 4 - resume"

# Evaluation of the refiner on held-out procedural identities (threshold sweep).
"$FIANCEE" eval "$tmp/w/package" --frames 6 --out "$tmp/eval" > "$tmp/eval.txt" 2>&1 || { cat "$tmp/eval.txt"; fail "eval (reenact)"; }
for f in sweep.csv per_exit.csv exit_shares.png truth.csv contact-sheet.png; do [ -s "$tmp/eval/$f" ] || fail "eval (reenact) wrote no $f"; done
echo "ok 5 - eval on held-out procedural identities"
# The same frames in bf16: the networks' error to the true frame moves a little, not a lot, and not at all for the warp.
"$FIANCEE" eval "$tmp/w/package" --frames 6 --sheet-frames 0 --precision bf16 --out "$tmp/eval-bf16" > "$tmp/eval-bf16.txt" 2>&1 \
  || { cat "$tmp/eval-bf16.txt"; fail "eval --precision bf16"; }
grep -q 'bf16' "$tmp/eval-bf16.txt" || fail "eval --precision bf16 does not say bf16"
row() { grep "^$1," "$2" | cut -d, -f3; }
[ "$(row warp-only "$tmp/eval/truth.csv")" = "$(row warp-only "$tmp/eval-bf16/truth.csv")" ] || fail "bf16 changed the warp-only row"
awk -v a="$(row backbone "$tmp/eval/truth.csv")" -v b="$(row backbone "$tmp/eval-bf16/truth.csv")" \
  'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d > 0 && d < 0.05) }' \
  || fail "bf16 backbone error to the truth $(row backbone "$tmp/eval-bf16/truth.csv") vs fp32 $(row backbone "$tmp/eval/truth.csv"): not a small change"
echo "ok 5c - eval --precision bf16"

# The guide database from a real clip (the demo package's branches take a guide): keys from the face front end.
clip=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
"$FIANCEE" make-demo-package --out "$tmp/demo" --pipeline reenact --resolution 32 --channels 8 > /dev/null
if [ -f "$clip" ]; then
  "$FIANCEE" build-db --package "$tmp/demo" --source "$clip" --size 8 > "$tmp/db.txt" 2>&1 || { cat "$tmp/db.txt"; fail "build-db failed"; }
  "$FIANCEE" inspect "$tmp/demo" > "$tmp/inspect.txt" || fail "package invalid after build-db"
  grep -q "guide db     8 entries" "$tmp/inspect.txt" || fail "expected 8 guide entries: $(grep 'guide db' "$tmp/inspect.txt")"
  echo "ok 5a - build-db from a video"
  # A photo animated by the real clip: every variant, the checks' CSV and the contact sheet.
  "$FIANCEE" eval-photo "$tmp/w/package" --photo "$tmp/w/package/source.png" --driver "$clip" --frames 6 --sheet-frames 2 \
    --exit-hysteresis 3 --out "$tmp/peval" > "$tmp/peval.txt" 2>&1 || { cat "$tmp/peval.txt"; fail "eval-photo"; }
  for v in warp-only exit0 backbone routed routed-held; do grep -q "^$v," "$tmp/peval/eval-photo.csv" || fail "eval-photo: no $v row"; done
  [ -s "$tmp/peval/contact-sheet.png" ] || fail "eval-photo wrote no contact sheet"
  echo "ok 5b - eval-photo on a real driver"
else
  echo "ok 5a # SKIP $clip missing (Debian package opencv-doc)"
fi
mkdir "$tmp/empty"
if "$FIANCEE" build-db --package "$tmp/demo" --source "$tmp/empty" > "$tmp/err.txt" 2>&1; then fail "build-db accepted a folder without faces"; fi
grep -q "no face found" "$tmp/err.txt" || fail "build-db error does not say why: $(cat "$tmp/err.txt")"
echo "ok 6 - build-db refuses a source without faces"

# Real-video data: a VoxCeleb-style folder (procedural head videos here) read through the face front end.
"$FIANCEE" make-heads --out "$tmp/heads" --identities 2 --videos 1 --frames 12 --size 256 2> "$tmp/heads.txt" \
  || { cat "$tmp/heads.txt"; fail "make-heads"; }
[ -s "$tmp/heads/id1/clip0.avi" ] || fail "make-heads wrote no id1/clip0.avi"
"$FIANCEE" train-backbone --work "$tmp/v" --data "$tmp/heads" --frames-per-video 6 --resolution 32 --channels 8 \
  --scale-factors 1/2 --steps 8 --batch 2 --fixed-batch --lr 2e-3 --quiet 2> "$tmp/v.txt" || { cat "$tmp/v.txt"; fail "train-backbone --data"; }
grep -q "2 identities" "$tmp/v.txt" || fail "train-backbone --data did not report its identities: $(cat "$tmp/v.txt")"
check_falls "$tmp/v/checkpoints/train-backbone.losses.csv"
"$FIANCEE" train-branches --work "$tmp/v" --steps 2 --batch 2 --quiet 2> /dev/null
"$FIANCEE" train-predictor --work "$tmp/v" --steps 2 --batch 2 --quiet --calibration-frames 8 2> /dev/null
"$FIANCEE" inspect "$tmp/v/package" > "$tmp/inspect-v.txt" || fail "the package trained on videos does not validate"
grep -q "on the videos of" "$tmp/inspect-v.txt" || fail "the package does not say what it was trained on"
if "$FIANCEE" train-backbone --work "$tmp/v2" --data "$tmp/no-such-dir" > "$tmp/err.txt" 2>&1; then fail "--data accepted a missing folder"; fi
grep -q "no-such-dir: not a folder" "$tmp/err.txt" || fail "--data error does not say why: $(cat "$tmp/err.txt")"
echo "ok 7 - train-* on a folder of videos"

# --init: a run at another resolution starts from a package of the same architecture; another architecture is refused.
"$FIANCEE" train-backbone --work "$tmp/i" --resolution 64 --channels 8 --identities 2 --scale-factors 1/2 \
  --steps 1 --batch 1 --init "$tmp/w/package" 2> "$tmp/i.txt" || { cat "$tmp/i.txt"; fail "train-backbone --init"; }
grep -q "starting from the backbone of" "$tmp/i.txt" || fail "--init did not load the package"
if "$FIANCEE" train-backbone --work "$tmp/i2" --resolution 64 --channels 16 --identities 2 --scale-factors 1/2 \
    --steps 1 --batch 1 --init "$tmp/w/package" > "$tmp/err.txt" 2>&1; then fail "--init accepted another architecture"; fi
grep -q "architecture differs" "$tmp/err.txt" || fail "--init error does not say why: $(cat "$tmp/err.txt")"
echo "ok 8 - train-backbone --init"

# Synthesis: the same three commands on label map -> image pairs (procedural street scenes), OASIS then ASAP-Net.
for fam in oasis asap; do
  w="$tmp/s-$fam"
  "$FIANCEE" train-backbone --work "$w" --pipeline synth --family "$fam" --height 32 --width 64 --channels 16 \
    --scale-factors 1/2 --steps 8 --batch 2 --fixed-batch --lr 2e-3 --quiet
  check_falls "$w/checkpoints/train-backbone.losses.csv"
  "$FIANCEE" train-branches --work "$w" --steps 8 --batch 2 --fixed-batch --database-scenes 4 --database-per-class 4 --quiet \
    2> "$tmp/branches-$fam.txt" || { cat "$tmp/branches-$fam.txt"; fail "synth train-branches ($fam)"; }
  check_falls "$w/checkpoints/train-branches-1_2.losses.csv"
  "$FIANCEE" train-predictor --work "$w" --steps 8 --batch 4 --fixed-batch --lr 1e-2 --quiet --calibration-frames 16 2> /dev/null
  check_falls "$w/checkpoints/train-predictor-1_2.losses.csv"
  "$FIANCEE" inspect "$w/package" > "$tmp/inspect-$fam.txt" || fail "the trained $fam package does not validate"
  grep -q "calibration  SF 1/2 *16 frames (held-out procedural scenes" "$tmp/inspect-$fam.txt" \
    || fail "train-predictor did not calibrate the $fam package: $(grep calibration "$tmp/inspect-$fam.txt")"
  echo "ok - synth train-* ($fam) wrote a valid package"
done
grep -q "guide db     [0-9]* entries" "$tmp/inspect-oasis.txt" || fail "the OASIS package lacks its patch database"
grep -q "guide db     none" "$tmp/inspect-asap.txt" || fail "the ASAP-Net package should have no database"

# Patch database rebuilt from more scenes; eval of the synthesis package with the ASAP-Net comparison.
"$FIANCEE" build-db --package "$tmp/s-oasis/package" --source procedural --scenes 6 --per-class 3 > "$tmp/sdb.txt" 2>&1 \
  || { cat "$tmp/sdb.txt"; fail "build-db (synth)"; }
"$FIANCEE" inspect "$tmp/s-oasis/package" > "$tmp/inspect-sdb.txt" || fail "OASIS package invalid after build-db"
grep -q "removed the calibration frames" "$tmp/sdb.txt" && grep -q "calibration  none" "$tmp/inspect-sdb.txt" \
  || fail "build-db kept calibration frames measured with the old database"
"$FIANCEE" calibrate "$tmp/s-oasis/package" --frames 16 > "$tmp/scal.txt" 2>&1 || { cat "$tmp/scal.txt"; fail "calibrate (synth)"; }
"$FIANCEE" eval "$tmp/s-oasis/package" --frames 8 --compare "$tmp/s-asap/package" --compare-frames 2 --out "$tmp/seval" \
  > "$tmp/seval.txt" 2>&1 || { cat "$tmp/seval.txt"; fail "eval (synth)"; }
for f in sweep.csv per_exit.csv predictor_noise.csv compare.csv exit_shares.png quality_per_exit.png calibration.csv calibrated_miss.png; do
  [ -s "$tmp/seval/$f" ] || fail "eval (synth) wrote no $f"
done
echo "ok - build-db and eval of a synthesis package"
