#!/usr/bin/env bash
# Installs everything fiancee needs to build, test and run its demo, from Debian 12 only.
set -euo pipefail
packages=(
  meson ninja-build pkg-config g++
  libtorch-dev libfaiss-dev libopenblas-dev nlohmann-json3-dev libssl-dev libopencv-dev libgtest-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav
  opencv-doc libdlib-dev libdlib-data libcli11-dev libcairo2-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} Debian packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
