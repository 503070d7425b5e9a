#!/usr/bin/env bash
# Puts a real public-domain portrait where the demo and the evaluation expect
# it: scikit-image's astronaut.png (NASA photo of Eileen Collins, public
# domain), taken from Debian's python3-skimage package without installing it.
# It is an evaluation photo: never used for training or threshold tuning.
#   scripts/fetch-photo.sh [OUT_DIR]     -> OUT_DIR/astronaut.png (default out/photos)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/photos}"
[ -s "$out/astronaut.png" ] && { echo "$out/astronaut.png"; exit 0; }
tmp="$(mktemp -d)"
chmod 755 "$tmp"  # apt downloads as _apt
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download python3-skimage > /dev/null)
dpkg-deb -x "$tmp"/python3-skimage_*.deb "$tmp/x"
mkdir -p "$out"
cp "$tmp/x/usr/lib/python3/dist-packages/skimage/data/astronaut.png" "$out/astronaut.png"
echo "$out/astronaut.png"
