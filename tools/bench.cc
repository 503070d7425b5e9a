// `fiancee bench`: times every route (forced exits through the engine), the
// predictor, the router and the guide database lookup at batch 1, and reports
// medians, p95, each route's time as a ratio to the backbone's measured in the
// same run, and each route's peak resident memory.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "core/device.h"
#include "core/engine.h"
#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "core/router.h"
#include "models/g2d.h"
#include "models/registry.h"
#include "tools/args.h"

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
  t.key_dim = t.manifest.architecture->value("key_dim", 0);
  return t;
}

// The paper's renderer with random weights, a 960-entry database keyed like
// the paper's (3 angles + 512 expression values).
Target paper_g2d(const std::vector<std::string>& sfs) {
  const auto cfg = models::G2DConfig::paper(sfs, true);
  auto graph = std::make_shared<models::G2DGraph>(cfg);
  Target t;
  t.label = "g2d-paper (random weights)";
  t.manifest.name = "g2d-paper";
  t.manifest.family = "g2d";
  t.manifest.architecture = std::make_shared<const nlohmann::json>(cfg.to_json());
  t.manifest.input = {64, 64, 512, -1, 1};
  t.manifest.output = {512, 512, 3, -1, 1};
  for (const auto& sf : sfs) t.manifest.scale_factors.push_back({sf, "", graph->route_gflops(sf, 64, 64)});
  t.manifest.default_scale_factor = sfs.front();
  t.graph = graph;
  t.key_dim = cfg.key_dim;
  torch::manual_seed(0);
  // Values are 3x64x64 guide thumbnails: the search cost is what is measured, not the copy of full images.
  t.db = std::make_shared<GuideDatabase>(torch::randn({960, t.key_dim}), torch::rand({960, 3, 64, 64}));
  return t;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Peak RSS since the last reset (Linux: clear_refs 5 resets VmHWM).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

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
  std::string kind, sf;
  int exit = -1;
  double gflops = 0, median = 0, p95 = 0, ratio = 0, rss = 0;
};

}  // namespace

int bench(const Args& args) {
  const int runs = std::max(1, args.integer("--runs", 5));
  const int warmup = std::max(0, args.integer("--warmup", 1));
  if (args.has("--threads")) torch::set_num_threads(args.integer("--threads", 1));
  const std::string dev_name = args.get("--device", "auto");
  if (dev_name != "auto" && dev_name != "cpu" && dev_name != "cuda") throw InputError("--device must be auto, cpu or cuda");
  const auto device = resolve_device(dev_name == "cpu" ? Device::Cpu : dev_name == "cuda" ? Device::Cuda : Device::Auto);

  Target t;
  if (args.has("--package"))
    t = from_package(args.get("--package", ""));
  else if (args.get("--arch", "") == "g2d-paper")
    t = paper_g2d(args.list("--scale-factors", "1/3,1/6,1/8,1/15"));
  else
    throw InputError("bench needs --package DIR or --arch g2d-paper");
  std::vector<std::string> sfs;
  for (const auto& sf : t.manifest.scale_factors) sfs.push_back(sf.name);
  if (args.has("--scale-factors") && args.has("--package")) sfs = args.list("--scale-factors", "");

  Engine engine(t.graph, t.manifest, t.db, device);
  torch::manual_seed(1);
  const auto& in = t.manifest.input;
  auto input = (torch::rand({1, in.channels, in.height, in.width}) * (in.range_max - in.range_min) + in.range_min).to(device);
  auto key = t.key_dim > 0 ? torch::randn({1, t.key_dim}) : torch::Tensor();
  std::fprintf(stderr, "bench: %s on %s, %d threads, %d warm-up + %d timed runs per route\n", t.label.c_str(),
               device.str().c_str(), torch::get_num_threads(), warmup, runs);

  std::vector<Row> rows;
  const int n_exits = t.manifest.num_exits();
  for (const auto& sf : sfs) {
    const auto& gflops = t.manifest.scale_factor(sf).route_gflops;
    std::vector<Row> routes;
    for (int e = 0; e < n_exits; ++e) {
      std::fprintf(stderr, "bench: SF %s route %d/%d (%s, %.1f GFLOPs)...\n", sf.c_str(), e + 1, n_exits,
                   e + 1 == n_exits ? "backbone" : ("exit " + std::to_string(e)).c_str(), gflops[e]);
      RouteSettings s;
      s.scale_factor = sf;
      s.forced_exit = e;
      reset_peak_rss();
      const auto ms = time_runs(warmup, runs, device, [&] { engine.run(input, key, s); });
      routes.push_back({"route", sf, e, gflops[e], percentile(ms, 0.5), percentile(ms, 0.95), 0, peak_rss_mb()});
    }
    for (auto& r : routes) r.ratio = r.median / routes.back().median;
    rows.insert(rows.end(), routes.begin(), routes.end());

    torch::NoGradGuard no_grad;
    auto features = t.graph->front(input);
    auto dkey = key.defined() ? key.to(device) : key;
    const auto pred = time_runs(warmup, runs, device, [&] { t.graph->predict(sf, features, dkey); });
    rows.push_back({"predictor", sf, -1, 0, percentile(pred, 0.5), percentile(pred, 0.95),
                    percentile(pred, 0.5) / routes.back().median, 0});
  }
  // The router decides from n_exits numbers: time many decisions and divide.
  std::vector<double> predicted(n_exits, 0.05), costs = t.manifest.scale_factors[0].route_gflops;
  const int reps = 100000;
  const auto r0 = Clock::now();
  volatile int sink = 0;  // keeps the loop from being optimised away
  for (int i = 0; i < reps; ++i) sink = sink + choose_route(predicted, costs, 0.01 * (i % 10), -1, false).exit;
  const double router_ms = std::chrono::duration<double, std::milli>(Clock::now() - r0).count() / reps;
  rows.push_back({"router", "", -1, 0, router_ms, router_ms, 0, 0});
  if (t.db && key.defined()) {
    std::vector<double> ms;
    for (int i = 0; i < warmup + runs; ++i) {
      const double m = t.db->lookup(key).ms;
      if (i >= warmup) ms.push_back(m);
    }
    rows.push_back({"guide_db", "", -1, 0, percentile(ms, 0.5), percentile(ms, 0.95), 0, 0});
  }

  std::printf("%-10s %-6s %5s %10s %12s %12s %10s %12s\n", "kind", "SF", "exit", "GFLOPs", "median ms", "p95 ms",
              "vs BB", "peak RSS MB");
  for (const auto& r : rows)
    std::printf("%-10s %-6s %5s %10.2f %12.3f %12.3f %10.3f %12.1f\n", r.kind.c_str(), r.sf.c_str(),
                r.exit < 0 ? "-" : std::to_string(r.exit).c_str(), r.gflops, r.median, r.p95, r.ratio, r.rss);
  // Predictor + router + lookup against the cheapest route, per scale factor.
  for (const auto& sf : sfs) {
    double cheapest = 1e300, overhead = 0;
    for (const auto& r : rows) {
      if (r.kind == "route" && r.sf == sf) cheapest = std::min(cheapest, r.median);
      if ((r.kind == "predictor" && r.sf == sf) || r.kind == "router" || r.kind == "guide_db") overhead += r.median;
    }
    std::printf("SF %s: predictor + router + guide lookup = %.3f ms = %.2f%% of the cheapest route\n", sf.c_str(), overhead,
                100.0 * overhead / cheapest);
  }
  if (args.has("--csv")) {
    std::ofstream csv(args.get("--csv", ""));
    csv << "kind,scale_factor,exit,gflops,median_ms,p95_ms,ratio_to_backbone,peak_rss_mb,device,threads\n";
    for (const auto& r : rows)
      csv << r.kind << "," << r.sf << "," << r.exit << "," << r.gflops << "," << r.median << "," << r.p95 << "," << r.ratio << ","
          << r.rss << "," << device.str() << "," << torch::get_num_threads() << "\n";
    if (!csv) throw Error(args.get("--csv", "") + ": cannot write CSV");
    std::fprintf(stderr, "bench: wrote %s\n", args.get("--csv", "").c_str());
  }
  return 0;
}

}  // namespace fiancee::tools
