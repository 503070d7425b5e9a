#include "core/runtime.h"

#include <malloc.h>
#include <sched.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>

namespace fiancee::runtime {

void tune_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef M_MMAP_MAX
    // Large blocks come from the heap, so a freed activation is reused by the next frame.
    mallopt(M_MMAP_MAX, 0);
    // Never return the heap's top to the kernel: the next frame needs it again.
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    // One arena for every thread. The two settings above hold for the main
    // arena; a streaming thread that gets an arena of its own allocates in
    // 64 MB mmapped heaps that glibc unmaps whenever one empties, whatever
    // the trim threshold, so a backbone run from such a thread faulted its
    // activations in again on every frame (in gst-launch: 25 or 85 ms per
    // backbone frame by chance, 0.06 to 1.7 million page faults per run;
    // docs/benchmarks.md). Takes effect for threads that have not allocated yet.
    mallopt(M_ARENA_MAX, 1);
#endif
  });
}

void release_free_memory() {
#ifdef M_MMAP_MAX
  malloc_trim(0);
#endif
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

namespace {
std::atomic<int> wanted_threads{0};  // 0: set_threads() not called yet
std::atomic<bool> use_channels_last{true};
}  // namespace

void set_channels_last(bool on) { use_channels_last = on; }
bool channels_last() { return use_channels_last; }

int set_threads(int threads) {
  wanted_threads = threads > 0 ? threads : available_cores();
  apply_threads();
  return at::get_num_threads();
}

void apply_threads() {
  const int n = wanted_threads.load();
  if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
}

}  // namespace fiancee::runtime
