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
