// Process-wide CPU settings that every entry point (element, CLI) applies
// before it runs a network, so benches measure what users get.
#pragma once

namespace fiancee::runtime {

// Keeps freed activations in the heap instead of handing them back to the
// kernel after every frame (glibc mallopt: no mmap for large blocks, no trim,
// one arena for all threads so the settings hold on streaming threads too).
// Without it every large tensor costs fresh page faults, which made the
// backbone up to 5x slower on CPU. Idempotent; call before the first tensor.
void tune_allocator();

// Hands the free pages the tuned allocator keeps back to the kernel (glibc
// malloc_trim). For the moments when no frame is waiting: an element's stop.
// Without it a process that starts and stops elements keeps the high-water
// mark of every start (the landmark model alone is ~100 MB of small blocks,
// reloaded on each start after the last element using it stopped).
void release_free_memory();

// Cores this process may run on (its CPU affinity mask), at least 1.
int available_cores();

// LibTorch's intra-op threads for the whole process: `threads` > 0 as given,
// 0 = available_cores(). Applies it on the calling thread and returns the number
// in force. Process-wide, as LibTorch's setting is: the last caller wins.
int set_threads(int threads);

// CPU networks run on channels-last (NHWC) activations and weights when true
// (the default): oneDNN's convolutions are faster on them for the wide, large
// layers that dominate a backbone (docs/benchmarks.md). Read by each Engine
// when it is made; the process-wide default for engines made afterwards.
void set_channels_last(bool on);
bool channels_last();

// Applies the count of the last set_threads() on the calling thread. OpenMP
// keeps the count per thread and LibTorch copies its global value into a
// thread only once, so a reused streaming thread would keep an older count:
// call this on the thread that runs the network (cheap when nothing changed).
void apply_threads();

}  // namespace fiancee::runtime
