// `fiancee bench`: times every route (forced exits through the engine), the
// predictor, the router and the guide database lookup at batch 1, and reports
// medians, p95, each route's time as a ratio to the backbone's measured in the
// same run, each route's peak resident memory, and its achieved GFLOP/s beside
// a reference rate (large GEMM / convolution) timed in the same run.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "core/device.h"
#include "core/engine.h"
#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/package.h"
#include "core/router.h"
#include "core/runtime.h"
#include "models/asap.h"
#include "models/g2d.h"
#include "models/oasis.h"
#include "models/registry.h"
#include "tools/bench_measure.h"
#include "tools/commands.h"

namespace fiancee::tools {

namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  std::string label;
  Manifest manifest;
  std::shared_ptr<ExitGraph> graph;
  std::shared_ptr<GuideDatabase> db;
  int key_dim = 0;
};

Target from_package(const std::string& dir) {
  const auto pkg = Package::open(dir);
  Target t{dir, pkg.manifest(), models::load_graph(pkg), pkg.guide_database(), 0};
  const auto origin = pkg.path("manifest.json");
  t.key_dim = models::family(t.manifest.family, origin).key_dim(*t.manifest.architecture, origin);
  return t;
}

// A paper-scale architecture with random weights; costs at (gh, gw).
template <typename Graph, typename Config>
Target paper_target(const std::string& name, const Config& cfg, ImageSpec in, ImageSpec out, int64_t gh, int64_t gw, int key_dim) {
  auto graph = std::make_shared<Graph>(cfg);
  Target t;
  t.label = name + " (random weights)";
  t.manifest.name = name;
  t.manifest.family = name;
  t.manifest.architecture = std::make_shared<const nlohmann::json>(cfg.to_json());
  t.manifest.input = in;
  t.manifest.output = out;
  for (const auto& sf : graph->scale_factors()) t.manifest.scale_factors.push_back({sf, "", graph->route_gflops(sf, gh, gw), ""});
  t.manifest.default_scale_factor = t.manifest.scale_factors.front().name;
  t.graph = graph;
  t.key_dim = key_dim;
  return t;
}

Target paper_arch(const std::string& arch, const std::vector<std::string>& sfs) {
  if (arch == "g2d-paper") {
    auto t = paper_target<models::G2DGraph>(arch, models::G2DConfig::paper(sfs.empty() ? std::vector<std::string>{"1/8", "1/15"} : sfs, true),
                                            {64, 64, 512, -1, 1}, {512, 512, 3, -1, 1}, 64, 64, 515);
    // The paper's database: 960 entries keyed by 3 angles + 512 expression values. Values are
    // 3x64x64 thumbnails: the search is what is measured, not copying full images.
    torch::manual_seed(0);
    t.db = std::make_shared<GuideDatabase>(torch::randn({960, t.key_dim}), torch::rand({960, 3, 64, 64}));
    return t;
  }
  if (arch == "oasis-paper") {
    const auto cfg = models::OasisConfig::paper(sfs.empty() ? std::vector<std::string>{"1/2", "1/4"} : sfs, false);
    return paper_target<models::OasisGraph>(arch, cfg, {cfg.width, cfg.height, cfg.label_channels(), 0, 1},
                                            {cfg.width, cfg.height, 3, -1, 1}, cfg.height, cfg.width, 0);
  }
  if (arch == "asap-paper") {
    const auto cfg = models::AsapConfig::paper(sfs.empty() ? std::vector<std::string>{"1/2", "1/4"} : sfs);
    return paper_target<models::AsapGraph>(arch, cfg, {512, 256, cfg.input_channels(), 0, 1}, {512, 256, 3, -1, 1}, 256, 512, 0);
  }
  throw InputError("unknown --arch '" + arch + "' (known: g2d-paper, oasis-paper, asap-paper)");
}

// Peak RSS since the last reset (Linux: clear_refs 5 resets VmHWM).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
double peak_rss_mb() { return process_memory_mb("VmHWM"); }

template <typename F>
std::vector<double> time_runs(int warmup, int runs, const torch::Device& device, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    f();
    synchronize(device);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return ms;
}

struct Row {
  std::string target, kind, sf;
  int exit = -1;
  double gflops = 0, median = 0, p95 = 0, ratio = 0, rss = 0;
  int threads = 0;  // LibTorch intra-op threads it ran with
  std::string layout;  // "nchw" or "channels-last" (the engine's CPU layout)
  std::string precision = "fp32";
  double vs_fp32 = -1;  // 1 - MS-SSIM of the route's image to its fp32 image, same input (-1: not compared)
  std::string variant() const { return std::to_string(threads) + " threads, " + layout + ", " + precision; }
  double rate() const { return gflops > 0 && median > 0 ? gflops / (median / 1000.0) : 0; }  // achieved GFLOP/s
};


struct Timing {
  int runs, warmup;
  torch::Device device;
};

// Every route of every scale factor, the predictor, the router and the guide lookup of one target.
// fp32_images: each route's image in fp32, by "sf/exit", filled by the first
// fp32 run and compared with in the others (the quality cost of bf16); null
// when no precision is compared, and no image is rendered for it.
std::vector<Row> bench_target(Target& t, const std::vector<std::string>& sfs, const Timing& tm, Precision precision,
                              std::map<std::string, torch::Tensor>* fp32_images) {
  Engine engine(t.graph, t.manifest, t.db, tm.device);
  engine.set_precision(precision);
  const auto dtype = precision == Precision::Bf16 ? torch::kBFloat16 : torch::kFloat;  // for the graph's own calls below
  const auto metric = make_ms_ssim_distance();
  torch::manual_seed(1);
  const auto& in = t.manifest.input;
  auto input = (torch::rand({1, in.channels, in.height, in.width}) * (in.range_max - in.range_min) + in.range_min).to(tm.device);
  auto key = t.key_dim > 0 ? torch::randn({1, t.key_dim}) : torch::Tensor();
  std::fprintf(stderr, "bench: %s on %s, %d threads, %d warm-up + %d timed runs per route\n", t.label.c_str(),
               tm.device.str().c_str(), torch::get_num_threads(), tm.warmup, tm.runs);
  std::vector<Row> rows;
  const int n_exits = t.manifest.num_exits();
  for (const auto& sf : sfs) {
    const auto& gflops = t.manifest.scale_factor(sf).route_gflops;
    std::vector<Row> routes;
    for (int e = 0; e < n_exits; ++e) {
      std::fprintf(stderr, "bench: %s SF %s route %d/%d (%s, %.1f GFLOPs)...\n", t.manifest.name.c_str(), sf.c_str(), e + 1,
                   n_exits, e + 1 == n_exits ? "backbone" : ("exit " + std::to_string(e)).c_str(), gflops[e]);
      RouteSettings s;
      s.scale_factor = sf;
      s.forced_exit = e;
      reset_peak_rss();
      const auto ms = time_runs(tm.warmup, tm.runs, tm.device, [&] { engine.run(input, key, s); });
      routes.push_back({t.manifest.name, "route", sf, e, gflops[e], percentile(ms, 0.5), percentile(ms, 0.95), 0, peak_rss_mb()});
      if (fp32_images) {
        const auto image = engine.run(input, key, s).images.cpu();
        const std::string id = sf + "/" + std::to_string(e);
        if (precision == Precision::Fp32)
          fp32_images->emplace(id, image);
        else if (fp32_images->count(id))
          routes.back().vs_fp32 = metric->distance(image, fp32_images->at(id)).item<double>();
      }
    }
    for (auto& r : routes) r.ratio = r.median / routes.back().median;
    rows.insert(rows.end(), routes.begin(), routes.end());

    torch::NoGradGuard no_grad;
    auto features = t.graph->front(input.to(dtype));
    auto dkey = key.defined() ? key.to(tm.device, dtype) : key;
    const auto pred = time_runs(tm.warmup, tm.runs, tm.device, [&] { t.graph->predict(sf, features, dkey); });
    rows.push_back({t.manifest.name, "predictor", sf, -1, 0, percentile(pred, 0.5), percentile(pred, 0.95),
                    percentile(pred, 0.5) / routes.back().median, 0});
  }
  // The router decides from n_exits numbers: time many decisions and divide.
  std::vector<double> predicted(n_exits, 0.05), costs = t.manifest.scale_factors[0].route_gflops;
  const int reps = 100000;
  const auto r0 = Clock::now();
  volatile int sink = 0;  // keeps the loop from being optimised away
  for (int i = 0; i < reps; ++i) sink = sink + choose_route(predicted, costs, 0.01 * (i % 10), -1, false).exit;
  const double router_ms = std::chrono::duration<double, std::milli>(Clock::now() - r0).count() / reps;
  rows.push_back({t.manifest.name, "router", "", -1, 0, router_ms, router_ms, 0, 0});
  if (t.db) {
    // The whole lookup the engine makes (graph query, search, gluing), so patch databases are timed too.
    torch::NoGradGuard no_grad;
    const auto features = t.graph->front(input.to(dtype)).to(torch::kFloat);  // the database searches in float
    const auto dkey = key.defined() ? key.to(tm.device) : key;
    const auto ms = time_runs(tm.warmup, tm.runs, tm.device, [&] { lookup_guide(*t.graph, *t.db, features, dkey); });
    rows.push_back({t.manifest.name, "guide_db", "", -1, 0, percentile(ms, 0.5), percentile(ms, 0.95), 0, 0});
  }
  // Predictor + router + lookup against the cheapest route, per scale factor.
  for (const auto& sf : sfs) {
    double cheapest = 1e300, overhead = 0;
    for (const auto& r : rows) {
      if (r.kind == "route" && r.sf == sf) cheapest = std::min(cheapest, r.median);
      if ((r.kind == "predictor" && r.sf == sf) || r.kind == "router" || r.kind == "guide_db") overhead += r.median;
    }
    std::printf("%s SF %s: predictor + router + guide lookup = %.3f ms = %.2f%% of the cheapest route\n", t.manifest.name.c_str(),
                sf.c_str(), overhead, 100.0 * overhead / cheapest);
  }
  for (auto& r : rows) {
    r.threads = torch::get_num_threads();
    r.layout = engine.channels_last() ? "channels-last" : "nchw";
    r.precision = precision == Precision::Bf16 ? "bf16" : "fp32";
  }
  return rows;
}

// What this machine's LibTorch achieves on large, well-shaped work, timed in
// the same run so a route's GFLOP/s reads as a share of it: a square GEMM and
// a 3x3 convolution of the size of a mid backbone stage.
std::vector<Row> reference_rates(const Timing& tm) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  const int64_t n = 1024;
  const auto a = torch::randn({n, n}, tm.device), b = torch::randn({n, n}, tm.device);
  const auto gemm = time_runs(tm.warmup + 1, tm.runs, tm.device, [&] { torch::mm(a, b); });
  const int64_t c = 128, hw = 64;
  const auto x = torch::randn({1, c, hw, hw}, tm.device), w = torch::randn({c, c, 3, 3}, tm.device);
  const auto conv = time_runs(tm.warmup + 1, tm.runs, tm.device, [&] { torch::conv2d(x, w, {}, 1, 1); });
  const double gemm_gflops = 1e-9 * static_cast<double>(n * n * n);            // 1 MAC = 1 FLOP, as route GFLOPs
  const double conv_gflops = 1e-9 * static_cast<double>(c * c * 9 * hw * hw);
  return {{"reference", "gemm", "", -1, gemm_gflops, percentile(gemm, 0.5), percentile(gemm, 0.95), 0, 0},
          {"reference", "conv3x3", "", -1, conv_gflops, percentile(conv, 0.5), percentile(conv, 0.95), 0, 0}};
}

}  // namespace

int bench(const Options& args) {
  if (args.has("--streams")) return bench_streams(args);
  const std::string dev_name = args.get("--device", "auto");
  if (dev_name != "auto" && dev_name != "cpu" && dev_name != "cuda") throw InputError("--device must be auto, cpu or cuda");
  const Timing tm{std::max(1, args.integer("--runs", 5)), std::max(0, args.integer("--warmup", 1)),
                  resolve_device(dev_name == "cpu" ? Device::Cpu : dev_name == "cuda" ? Device::Cuda : Device::Auto)};

  std::vector<Target> targets;
  if (args.has("--package"))
    targets.push_back(from_package(args.get("--package", "")));
  else if (args.has("--arch"))
    for (const auto& arch : args.list("--arch", "")) targets.push_back(paper_arch(arch, args.list("--scale-factors", "")));
  else
    throw InputError("bench needs --package DIR or --arch NAME[,NAME...] (g2d-paper, oasis-paper, asap-paper)");

  // --thread-counts 1,2: every target at each count in this one run, so thread scaling is a same-run ratio.
  std::vector<int> counts;
  for (const auto& c : args.list("--thread-counts", "")) {
    const int n = std::atoi(c.c_str());
    if (n < 1 || std::to_string(n) != c) throw InputError("--thread-counts must list positive integers, found '" + c + "'");
    counts.push_back(n);
  }
  if (counts.empty()) counts.push_back(torch::get_num_threads());
  // --layouts nchw,channels-last: the same for the engine's CPU memory layout.
  const auto layouts = args.list("--layouts", runtime::channels_last() ? "channels-last" : "nchw");
  for (const auto& l : layouts)
    if (l != "nchw" && l != "channels-last") throw InputError("--layouts must list nchw and/or channels-last, found '" + l + "'");
  // --precisions fp32,bf16: the same for the number format; bf16 rows say how far each route's image moved.
  std::vector<Precision> precisions;
  for (const auto& p : args.list("--precisions", "fp32")) {
    if (p != "fp32" && p != "bf16") throw InputError("--precisions must list fp32 and/or bf16, found '" + p + "'");
    precisions.push_back(p == "bf16" ? Precision::Bf16 : Precision::Fp32);
  }
  std::stable_sort(precisions.begin(), precisions.end(), [](Precision a, Precision b) { return a == Precision::Fp32 && b != a; });
  std::vector<Row> rows;
  std::map<int, double> ref_rate;  // threads -> reference GFLOP/s
  for (int c : counts) {
    runtime::set_threads(c);
    for (auto r : reference_rates(tm)) {
      r.threads = c;
      ref_rate[c] = std::max(ref_rate[c], r.rate());
      rows.push_back(r);
    }
  }
  for (auto& t : targets) {
    std::vector<std::string> sfs;
    for (const auto& sf : t.manifest.scale_factors) sfs.push_back(sf.name);
    if (args.has("--scale-factors") && args.has("--package")) sfs = args.list("--scale-factors", "");
    std::map<std::string, torch::Tensor> fp32_images;
    // Precision outermost: every fp32 variant runs before bf16 rounds the weights (float -> bf16 -> float is lossless after that).
    for (Precision p : precisions)
      for (int c : counts)
        for (const auto& l : layouts) {
          runtime::set_threads(c);
          runtime::set_channels_last(l == "channels-last");
          try {
            const auto r = bench_target(t, sfs, tm, p, precisions.size() > 1 ? &fp32_images : nullptr);
            rows.insert(rows.end(), r.begin(), r.end());
          } catch (const UnavailableError& e) {
            std::printf("%s: not timed in this variant: %s\n", t.label.c_str(), e.what());
          }
        }
  }
  std::printf("%-12s %-10s %-6s %5s %3s %-13s %-4s %10s %12s %12s %8s %9s %7s %12s %9s\n", "target", "kind", "SF", "exit", "thr", "layout",
              "prec", "GFLOPs", "median ms", "p95 ms", "vs BB", "GFLOP/s", "vs ref", "peak RSS MB", "vs fp32");
  for (const auto& r : rows)
    std::printf("%-12s %-10s %-6s %5s %3d %-13s %-4s %10.2f %12.3f %12.3f %8.3f %9.1f %7.2f %12.1f %9s\n", r.target.c_str(), r.kind.c_str(),
                r.sf.c_str(), r.exit < 0 ? "-" : std::to_string(r.exit).c_str(), r.threads, r.layout.c_str(), r.precision.c_str(), r.gflops,
                r.median, r.p95, r.ratio, r.rate(), r.rate() / ref_rate[r.threads], r.rss,
                r.vs_fp32 < 0 ? "-" : std::to_string(r.vs_fp32).substr(0, 8).c_str());
  if (std::find(precisions.begin(), precisions.end(), Precision::Bf16) != precisions.end())
    std::printf("vs fp32 = 1 - MS-SSIM of the route's bf16 image to its fp32 image on the same (random) input: what bf16 costs in quality\n");
  for (const auto& [threads, rate] : ref_rate)
    std::printf("reference rate %.1f GFLOP/s at %d threads (the faster of gemm and conv3x3, same run); 'vs ref' = achieved / it\n",
                rate, threads);
  // Each route in every variant against the same route in the first variant (same run).
  const Row* first_route = nullptr;
  for (const auto& r : rows)
    if (r.kind == "route" && !first_route) first_route = &r;
  for (const auto& r : rows) {
    if (r.kind != "route" || !first_route || r.variant() == first_route->variant()) continue;
    for (const auto& base : rows)
      if (base.kind == "route" && base.variant() == first_route->variant() && base.target == r.target && base.sf == r.sf &&
          base.exit == r.exit)
        std::printf("%s SF %s exit %d: %s %.2fx faster than %s\n", r.target.c_str(), r.sf.c_str(), r.exit, r.variant().c_str(),
                    base.median / r.median, base.variant().c_str());
  }
  // Backbones of several targets measured in this one run, as ratios to the first.
  const Row* first = nullptr;
  for (const auto& r : rows) {
    if (r.kind != "route" || r.ratio != 1.0) continue;
    if (!first) first = &r;
    else if (r.target != first->target && r.variant() == first->variant())
      std::printf("backbone %s / backbone %s = %.3f (time ratio, same run)\n", r.target.c_str(), first->target.c_str(), r.median / first->median);
  }
  if (args.has("--csv")) {
    std::ofstream csv(args.get("--csv", ""));
    csv << "target,kind,scale_factor,exit,gflops,median_ms,p95_ms,ratio_to_backbone,gflop_per_s,share_of_reference,peak_rss_mb,device,threads,layout,precision,distance_to_fp32\n";
    for (const auto& r : rows)
      csv << r.target << "," << r.kind << "," << r.sf << "," << r.exit << "," << r.gflops << "," << r.median << "," << r.p95 << ","
          << r.ratio << "," << r.rate() << "," << r.rate() / ref_rate[r.threads] << "," << r.rss << "," << tm.device.str() << "," << r.threads << "," << r.layout << "," << r.precision << "," << r.vs_fp32 << "\n";
    if (!csv) throw Error(args.get("--csv", "") + ": cannot write CSV");
    std::fprintf(stderr, "bench: wrote %s\n", args.get("--csv", "").c_str());
  }
  return 0;
}

}  // namespace fiancee::tools
