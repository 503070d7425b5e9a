#!/usr/bin/env bash
# Configures (once) and builds fiancee into ./build with two jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build -j"${FIANCEE_JOBS:-2}"
