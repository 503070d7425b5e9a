// `fiancee bench --streams N[,N...]`: N streams rendering frames at once,
// through one shared engine (core/shared_engine.h) and through N engines of
// their own, as N elements of one process would. Each configuration runs in a
// fresh process of this program, so its resident memory is its own.
#include <sys/wait.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "core/package.h"
#include "core/runtime.h"
#include "core/shared_engine.h"
#include "models/registry.h"
#include "tools/bench_measure.h"
#include "tools/commands.h"

namespace fiancee::tools {

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::string package;
  int frames = 30, warmup = 3;
  double window_ms = 0;
};

struct Result {
  int streams = 0;
  std::string mode;  // "shared" or "separate"
  double fps = 0, p50 = 0, p95 = 0, load_mb = 0, rss_mb = 0, mean_batch = 0, mean_gflops = 0;
};

double resident_mb() { return process_memory_mb("VmRSS"); }

// In the child: n streams, each on its own thread, frames routed at the package's default threshold.
Result measure(const Config& c, int n, bool shared) {
  const double rss0 = resident_mb();
  const auto pkg = Package::open(c.package);
  const Manifest& m = pkg.manifest();
  const auto origin = pkg.path("manifest.json");
  const int key_dim = models::family(m.family, origin).key_dim(*m.architecture, origin);
  const auto make = [&] {
    auto engine = std::make_unique<Engine>(models::load_graph(pkg), m, pkg.guide_database(), torch::kCPU);
    engine->set_calibrations(pkg.calibrations());
    return engine;
  };
  std::vector<std::unique_ptr<SharedEngine::Stream>> streams;
  for (int i = 0; i < n; ++i) streams.push_back(shared ? SharedEngine::join("bench", c.package, c.window_ms, make) : SharedEngine::own(make()));
  const double loaded_mb = resident_mb() - rss0;  // the weights and the graphs, before any activation

  // Distinct frames per stream, made up front: the seeded generator is process-wide.
  torch::manual_seed(1);
  const int total = c.warmup + c.frames;
  std::vector<torch::Tensor> inputs, keys;
  for (int i = 0; i < n; ++i) {
    inputs.push_back(torch::rand({total, m.input.channels, m.input.height, m.input.width}) * (m.input.range_max - m.input.range_min) +
                     m.input.range_min);
    keys.push_back(key_dim > 0 ? torch::randn({total, key_dim}) : torch::Tensor());
  }
  const double inputs_mb = resident_mb();  // the run's own memory is counted from here: the frames are not the engine's
  RouteSettings settings;
  settings.quality_threshold = m.default_threshold;

  std::mutex mutex;
  std::condition_variable ready;
  int warmed = 0;
  Clock::time_point start;
  std::vector<std::vector<double>> ms(n);
  std::vector<double> batch_sum(n, 0), gflops_sum(n, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      runtime::apply_threads();
      const auto frame = [&](int k) {
        const auto key = keys[i].defined() ? keys[i].slice(0, k, k + 1) : torch::Tensor();
        return streams[i]->run(inputs[i].slice(0, k, k + 1), key, settings);
      };
      for (int k = 0; k < c.warmup; ++k) frame(k);
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (++warmed == n) start = Clock::now(), ready.notify_all();
        ready.wait(lock, [&] { return warmed == n; });
      }
      for (int k = c.warmup; k < total; ++k) {
        const auto t0 = Clock::now();
        const auto out = frame(k);
        ms[i].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        batch_sum[i] += out.reports[0].batch;
        gflops_sum[i] += out.reports[0].gflops;
      }
    });
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  Result r;
  r.streams = n;
  r.mode = shared ? "shared" : "separate";
  std::vector<double> all;
  for (int i = 0; i < n; ++i) {
    all.insert(all.end(), ms[i].begin(), ms[i].end());
    r.mean_batch += batch_sum[i];
    r.mean_gflops += gflops_sum[i];
  }
  r.fps = static_cast<double>(all.size()) / wall;
  r.p50 = percentile(all, 0.5);
  r.p95 = percentile(all, 0.95);
  r.mean_batch /= static_cast<double>(all.size());
  r.mean_gflops /= static_cast<double>(all.size());
  r.load_mb = loaded_mb;
  r.rss_mb = loaded_mb + resident_mb() - inputs_mb;
  return r;
}

const char* const kModeVariable = "FIANCEE_BENCH_STREAMS_ENGINES";  // set in a child: "shared" or "separate"

std::string result_line(const Result& r) {
  std::ostringstream out;
  out << "ok " << r.fps << " " << r.p50 << " " << r.p95 << " " << r.load_mb << " " << r.rss_mb << " " << r.mean_batch << " " << r.mean_gflops;
  return out.str();
}

// Runs measure() in a fresh process of this program (`fiancee bench --streams n`
// with kModeVariable set) and reads its result line back through a pipe.
Result in_child(const Config& c, int n, bool shared, int threads) {
  int fds[2];
  if (pipe(fds) != 0) throw Error("bench --streams: cannot create a pipe");
  std::vector<std::string> words{"fiancee", "bench", "--package", c.package, "--streams", std::to_string(n), "--runs", std::to_string(c.frames),
                                 "--warmup", std::to_string(c.warmup), "--batch-window", std::to_string(c.window_ms), "--threads",
                                 std::to_string(threads)};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw Error("bench --streams: cannot fork");
  if (pid == 0) {  // only exec after fork: LibTorch's thread pools do not survive it
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    setenv(kModeVariable, shared ? "shared" : "separate", 1);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string text;
  char buf[512];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  r.streams = n;
  r.mode = shared ? "shared" : "separate";
  std::istringstream in(text.substr(std::min(text.size(), text.rfind("ok "))));
  std::string tag;
  if (!(in >> tag >> r.fps >> r.p50 >> r.p95 >> r.load_mb >> r.rss_mb >> r.mean_batch >> r.mean_gflops) || tag != "ok")
    throw Error("bench --streams: the " + r.mode + " run of " + std::to_string(n) + " streams ended without a result (exit status " +
                std::to_string(WEXITSTATUS(status)) + ")");
  return r;
}

}  // namespace

int bench_streams(const Options& args) {
  if (!args.has("--package")) throw InputError("bench --streams needs --package DIR (the engine the streams share)");
  Config c;
  c.package = args.get("--package", "");
  c.frames = std::max(1, args.integer("--runs", 30));
  c.warmup = std::max(0, args.integer("--warmup", 3));
  c.window_ms = args.has("--batch-window") ? std::stod(args.get("--batch-window", "")) : defaults::kBatchWindowMs;
  if (!(c.window_ms >= 0 && c.window_ms <= defaults::kMaxBatchWindowMs))
    throw InputError("--batch-window must be 0.." + std::to_string(int(defaults::kMaxBatchWindowMs)) + " ms, got " + args.get("--batch-window", ""));
  std::vector<int> counts;
  for (const auto& s : args.list("--streams", "")) {
    const int n = std::atoi(s.c_str());
    if (n < 1 || n > 64 || std::to_string(n) != s) throw InputError("--streams must list integers in 1..64, found '" + s + "'");
    counts.push_back(n);
  }
  if (const char* mode = std::getenv(kModeVariable)) {  // a child: one measurement, one line
    if (counts.size() != 1) throw InputError(std::string(kModeVariable) + " is set: give one --streams count");
    std::printf("%s\n", result_line(measure(c, counts[0], std::string(mode) == "shared")).c_str());
    return 0;
  }
  Package::open(c.package);  // a broken package fails here, once, with its own message
  const int threads = torch::get_num_threads();
  std::vector<Result> rows;
  for (int n : counts)
    for (bool shared : {false, true}) {
      std::fprintf(stderr, "bench: %d stream%s, %s, %d frames each after %d warm-up...\n", n, n > 1 ? "s" : "",
                   shared ? "one shared engine" : "an engine each", c.frames, c.warmup);
      rows.push_back(in_child(c, n, shared, threads));
    }
  std::printf("%-8s %-9s %10s %10s %10s %12s %12s %11s %12s\n", "streams", "engines", "frames/s", "p50 ms", "p95 ms", "loaded +MB",
              "run +MB", "mean batch", "GFLOPs/frame");
  for (const auto& r : rows)
    std::printf("%-8d %-9s %10.2f %10.2f %10.2f %12.1f %12.1f %11.2f %12.3f\n", r.streams, r.mode.c_str(), r.fps, r.p50, r.p95, r.load_mb,
                r.rss_mb, r.mean_batch, r.mean_gflops);
  for (size_t i = 0; i + 1 < rows.size(); i += 2)
    std::printf("%d streams: one shared engine gives %.2fx the frames/s of %d engines; loaded %.1f MB vs %.1f MB, after the run %.1f MB vs %.1f MB\n",
                rows[i].streams, rows[i + 1].fps / rows[i].fps, rows[i].streams, rows[i + 1].load_mb, rows[i].load_mb, rows[i + 1].rss_mb,
                rows[i].rss_mb);
  std::printf("LibTorch threads per engine call: %d; batch window %.1f ms; loaded +MB = resident memory the engines added "
              "(weights, graphs); run +MB = that plus what rendering added (activations, "
              "thread stacks; not the test frames)\n",
              threads, c.window_ms);
  if (args.has("--csv")) {
    std::ofstream csv(args.get("--csv", ""));
    csv << "streams,engines,frames_per_s,p50_ms,p95_ms,loaded_added_mb,run_added_mb,mean_batch,gflops_per_frame,batch_window_ms\n";
    for (const auto& r : rows)
      csv << r.streams << "," << r.mode << "," << r.fps << "," << r.p50 << "," << r.p95 << "," << r.load_mb << "," << r.rss_mb << "," << r.mean_batch << ","
          << r.mean_gflops << "," << c.window_ms << "\n";
    if (!csv) throw Error(args.get("--csv", "") + ": cannot write CSV");
  }
  return 0;
}

}  // namespace fiancee::tools
