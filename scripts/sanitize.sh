#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) build of
# fiancee in its own directory, then the unit and element tests under them.
#   scripts/sanitize.sh [meson test arguments...]     (default: units element)
# Configures build-sanitize/ once with the options of scripts/build.sh plus
# -Db_sanitize=address,undefined -Db_lundef=false (the plugin is a shared
# object whose ASan symbols come from the executable that loads it), builds
# with FIANCEE_JOBS (2) jobs, and runs `meson test -C build-sanitize units element`.
# Every sanitizer report fails the test: ASan and UBSan halt on the first
# error; LSan reports leaks at exit. Known leaks and reports in libraries we do
# not own are suppressed by tests/sanitizers/*.supp, each entry with its reason.
# On this project's 2-core machine the build takes about 40 minutes, the tests
# several times their normal time.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${SANITIZE_BUILD_DIR:-build-sanitize}"
supp="$PWD/tests/sanitizers"
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" --buildtype=release -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$dir" -j"${FIANCEE_JOBS:-2}"

# Halt at the first report (a test that goes on after memory corruption proves
# nothing); leaks are reported at each test program's exit.
# fast_unwind_on_malloc=0: Debian's GLib has no frame pointers, so the fast
# unwinder stops inside it and a leak's stack never reaches the frame a
# suppression names (tests/sanitizers/lsan.supp: GLib's quark block).
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1:fast_unwind_on_malloc=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$supp/lsan.supp:print_suppressions=0:report_objects=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-suppressions=$supp/ubsan.supp:halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1}"
# GLib: use plain malloc (no slice allocator caches, so LSan sees real owners)
# and no GC-friendly tricks that hide leaks.
export G_SLICE="${G_SLICE:-always-malloc}"
export G_DEBUG="${G_DEBUG:-gc-friendly}"
# MALLOC_PERTURB_ (meson sets it) would make glibc scribble on freed memory;
# ASan's own poisoning does that better and the two fight.
export MALLOC_PERTURB_=0

if [ $# -eq 0 ]; then set -- units element; fi
meson test -C "$dir" --print-errorlogs --num-processes 1 --timeout-multiplier "${SANITIZE_TIMEOUT_MULTIPLIER:-6}" "$@"
