#include <gtest/gtest.h>

#include <torch/cuda.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "core/device.h"
#include "core/engine.h"
#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/package.h"
#include "core/router.h"
#include "core/runtime.h"
#include "models/branched_graph.h"
#include "models/registry.h"
#include "training/reenact_package.h"
#include "pipelines/reenact_inputs.h"
#include "tests/fixtures.h"

using fiancee::Engine;
using fiancee::RouteSettings;
using fiancee::testing::TempDir;

namespace {

// Delegates to a real graph and counts how often each stage and branch runs.
class CountingGraph : public fiancee::ExitGraph {
 public:
  explicit CountingGraph(std::shared_ptr<fiancee::ExitGraph> g) : g_(std::move(g)) {}
  int num_stages() const override { return g_->num_stages(); }
  int num_branches() const override { return g_->num_branches(); }
  int attach_point(int b) const override { return g_->attach_point(b); }
  std::vector<std::string> scale_factors() const override { return g_->scale_factors(); }
  torch::Tensor front(const torch::Tensor& x) override { return ++calls["front"], g_->front(x); }
  torch::Tensor stage(int k, const torch::Tensor& x) override {
    ++calls["stage" + std::to_string(k)];
    rows["stage" + std::to_string(k)] += x.size(0);
    return g_->stage(k, x);
  }
  torch::Tensor head(const torch::Tensor& x) override { return ++calls["head"], g_->head(x); }
  torch::Tensor branch(const std::string& sf, int b, const torch::Tensor& x, const torch::Tensor& guide) override {
    ++calls["branch" + std::to_string(b)];
    return g_->branch(sf, b, x, guide);
  }
  torch::Tensor predict(const std::string& sf, const torch::Tensor& f, const torch::Tensor& key) override {
    ++calls["predict"];
    return g_->predict(sf, f, key);
  }
  torch::Tensor finish(const torch::Tensor& output, const torch::Tensor& input) override { return g_->finish(output, input); }
  void to(const torch::Device& d) override { g_->to(d); }
  void eval() override { g_->eval(); }
  bool set_channels_last(bool on) override { return g_->set_channels_last(on); }
  bool set_dtype(torch::ScalarType dtype) override { return g_->set_dtype(dtype); }

  std::map<std::string, int> calls, rows;

 private:
  std::shared_ptr<fiancee::ExitGraph> g_;
};

struct Fixture {
  TempDir tmp;
  std::unique_ptr<fiancee::Package> pkg;
  std::shared_ptr<CountingGraph> graph;
  std::unique_ptr<Engine> engine;

  explicit Fixture(fiancee::DemoPackageOptions o = {}, bool use_db = true) {
    o.resolution = 32;
    o.base_channels = 8;
    fiancee::write_demo_package(tmp.file("pkg"), o);
    pkg = std::make_unique<fiancee::Package>(fiancee::Package::open(tmp.file("pkg")));
    graph = std::make_shared<CountingGraph>(fiancee::models::load_graph(*pkg));
    engine = std::make_unique<Engine>(graph, pkg->manifest(), use_db ? pkg->guide_database() : nullptr, torch::kCPU);
  }

  // Frames of distinct content so routes can differ.
  std::pair<torch::Tensor, torch::Tensor> frames(int n, uint64_t seed = 7) const {
    torch::manual_seed(seed);
    auto key = torch::randn({n, fiancee::reenact::kKeyDim});
    // Per-frame brightness offsets spread the predictor's outputs across frames.
    auto offsets = torch::linspace(-1, 1, n).view({n, 1, 1, 1});
    return {torch::rand({n, fiancee::reenact::kRefinerInputChannels, 32, 32}) * 2 - 1 + offsets, key};
  }
};

RouteSettings forced(int e) {
  RouteSettings s;
  s.forced_exit = e;
  return s;
}

}  // namespace

TEST(Engine, ForcedExitsTakeDifferentRoutes) {
  Fixture f;
  auto [input, key] = f.frames(1);
  std::vector<torch::Tensor> images;
  std::vector<double> gflops;
  for (int e = 0; e < 4; ++e) {
    auto out = f.engine->run(input, key, forced(e));
    ASSERT_EQ(out.reports[0].exit, e);
    EXPECT_TRUE(out.reports[0].forced);
    images.push_back(out.images);
    gflops.push_back(out.reports[0].gflops);
  }
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) {
      EXPECT_FALSE(torch::allclose(images[a], images[b])) << a << " vs " << b;
      EXPECT_LT(gflops[a], gflops[b]);
    }
}

TEST(Engine, ThresholdZeroTakesBackbone) {
  Fixture f;
  auto [input, key] = f.frames(6);
  RouteSettings s;
  s.quality_threshold = 0.0;
  auto out = f.engine->run(input, key, s);
  for (const auto& r : out.reports) {
    EXPECT_EQ(r.exit, 3);
    EXPECT_EQ(r.predicted.size(), 4u);
    EXPECT_EQ(r.predicted[3], 0.0);
    EXPECT_DOUBLE_EQ(r.gflops, r.backbone_gflops);
  }
}

TEST(Engine, HugeThresholdTakesCheapestBranch) {
  Fixture f;
  auto [input, key] = f.frames(3);
  RouteSettings s;
  s.quality_threshold = 1e9;
  for (const auto& r : f.engine->run(input, key, s).reports) EXPECT_EQ(r.exit, 0);
}

TEST(Engine, MinExitHoldsACostlierExitThatStillQualifies) {
  Fixture f;
  auto [input, key] = f.frames(3);
  RouteSettings s;
  s.quality_threshold = 1e9;  // every exit qualifies: the router wants exit 0
  s.min_exit = 2;
  for (const auto& r : f.engine->run(input, key, s).reports) {
    EXPECT_EQ(r.wanted_exit, 0);
    EXPECT_EQ(r.exit, 2);
    EXPECT_TRUE(r.held);
  }
  s.quality_threshold = 0.0;  // no branch qualifies: the backbone, not held
  for (const auto& r : f.engine->run(input, key, s).reports) {
    EXPECT_EQ(r.exit, 3);
    EXPECT_FALSE(r.held);
  }
  s.quality_threshold = 1e9;
  s.forced_exit = 1;  // a forced exit wins over the hold
  for (const auto& r : f.engine->run(input, key, s).reports) {
    EXPECT_EQ(r.exit, 1);
    EXPECT_FALSE(r.held);
  }
}

TEST(Engine, ReportsStageTimesAndCost) {
  Fixture f;
  auto [input, key] = f.frames(1);
  auto r = f.engine->run(input, key, forced(1)).reports[0];
  std::map<std::string, double> ms(r.stage_ms.begin(), r.stage_ms.end());
  EXPECT_TRUE(ms.count("front") && ms.count("stage1") && ms.count("stage4") && ms.count("branch1"));
  EXPECT_FALSE(ms.count("stage5")) << "stages after the attach point must not run";
  EXPECT_GT(r.total_ms, 0);
  EXPECT_EQ(r.scale_factor, "1/4");
}

// Random weights may predict below zero (clamped to 0) for every frame; a
// raised last predictor bias spreads the predictions over frames instead.
void raise_predictions(Fixture& f) {
  auto graph = std::dynamic_pointer_cast<fiancee::models::BranchedGraph>(fiancee::models::load_graph(*f.pkg));
  for (const auto& sf : graph->scale_factors()) {
    auto state = graph->branch_state(sf);
    std::string last;
    for (const auto& [name, t] : state)
      if (name.rfind("predictor.", 0) == 0 && name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) last = std::max(last, name);
    ASSERT_FALSE(last.empty());
    state[last] = state[last] + 1.0;
    graph->load_branches(sf, state, "raised predictor");
  }
  f.graph = std::make_shared<CountingGraph>(graph);
  f.engine = std::make_unique<Engine>(f.graph, f.pkg->manifest(), f.pkg->guide_database(), torch::kCPU);
}

TEST(Engine, BatchRunsEachStageOnceAndMatchesSingleFrames) {
  Fixture f;
  raise_predictions(f);
  auto [input, key] = f.frames(8);
  // A threshold inside the spread of predictions gives mixed routes.
  RouteSettings probe;
  probe.quality_threshold = 0;
  std::vector<double> p0;
  for (const auto& r : f.engine->run(input, key, probe).reports) p0.push_back(r.predicted[0]);
  std::sort(p0.begin(), p0.end());
  RouteSettings s;
  s.quality_threshold = (p0[3] + p0[4]) / 2;
  f.graph->calls.clear();
  f.graph->rows.clear();
  auto batch = f.engine->run(input, key, s);
  std::set<int> exits;
  for (const auto& r : batch.reports) exits.insert(r.exit);
  EXPECT_GE(exits.size(), 2u) << "fixture should produce mixed routes";
  for (const auto& [name, n] : f.graph->calls) EXPECT_EQ(n, 1) << name << " ran more than once";
  EXPECT_EQ(f.graph->rows["stage1"], 8);
  for (int i = 0; i < 8; ++i) {
    auto single = f.engine->run(input.slice(0, i, i + 1), key.slice(0, i, i + 1), forced(batch.reports[i].exit));
    EXPECT_TRUE(torch::allclose(single.images[0], batch.images[i], 1e-4, 1e-5)) << "frame " << i;
  }
}

TEST(Engine, NonFiniteBranchFallsBackToBackbone) {
  fiancee::DemoPackageOptions o;
  o.nan_branch = true;
  Fixture f(o);
  auto [input, key] = f.frames(1);
  auto out = f.engine->run(input, key, forced(0));
  EXPECT_TRUE(out.reports[0].fell_back);
  EXPECT_EQ(out.reports[0].exit, 3);
  EXPECT_NE(out.reports[0].warning.find("NaN"), std::string::npos);
  EXPECT_TRUE(torch::isfinite(out.images).all().item<bool>());
  EXPECT_EQ(f.graph->calls["stage1"], 1);  // features before the attach point were reused
  auto clean = f.engine->run(input, key, forced(3));
  EXPECT_TRUE(torch::allclose(clean.images, out.images));
}

TEST(Engine, GuideDatabaseChangesBranchOutput) {
  Fixture with_db;
  Fixture without_db({}, false);
  auto [input, key] = with_db.frames(1);
  auto a = with_db.engine->run(input, key, forced(0));
  auto b = without_db.engine->run(input, key, forced(0));
  EXPECT_FALSE(torch::allclose(a.images, b.images));
  // The backbone never sees the guide.
  EXPECT_TRUE(torch::allclose(with_db.engine->run(input, key, forced(3)).images, without_db.engine->run(input, key, forced(3)).images));
}

TEST(Engine, UnknownScaleFactorIsRefused) {
  Fixture f;
  auto [input, key] = f.frames(1);
  RouteSettings s;
  s.scale_factor = "1/3";
  EXPECT_THROW(f.engine->run(input, key, s), fiancee::InputError);
}

TEST(Engine, MeasureReportsDistanceToBackbone) {
  Fixture f;
  auto [input, key] = f.frames(2);
  auto s = forced(0);
  s.measure = true;
  auto out = f.engine->run(input, key, s);
  auto backbone = f.engine->run(input, key, forced(3));
  auto metric = fiancee::make_ms_ssim_distance();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(out.reports[i].exit, 0);
    const double expected = metric->distance(out.images[i].unsqueeze(0), backbone.images[i].unsqueeze(0)).item<double>();
    EXPECT_NEAR(out.reports[i].measured, expected, 1e-6);
    EXPECT_GT(out.reports[i].measured, 0.0);
  }
  EXPECT_EQ(backbone.reports[0].measured, -1.0) << "not measured unless asked";
}

// The CPU memory layout is a speed choice only: every route renders the same
// image (up to float rounding) in NCHW and channels-last.
TEST(Engine, ChannelsLastRendersWhatNchwRenders) {
  Fixture f;
  auto [input, key] = f.frames(2);
  std::vector<torch::Tensor> images[2];
  for (bool channels_last : {false, true}) {
    fiancee::runtime::set_channels_last(channels_last);
    Engine engine(f.graph, f.pkg->manifest(), f.pkg->guide_database(), torch::kCPU);
    EXPECT_EQ(engine.channels_last(), channels_last);
    for (int e = 0; e < 4; ++e) images[channels_last].push_back(engine.run(input, key, forced(e)).images);
  }
  fiancee::runtime::set_channels_last(true);
  for (int e = 0; e < 4; ++e) {
    EXPECT_TRUE(torch::allclose(images[0][e], images[1][e], 1e-4, 1e-4)) << "exit " << e << ": max difference "
        << (images[0][e] - images[1][e]).abs().max().item<float>();
  }
}

// A build linked against a CUDA LibTorch must run on CUDA: fails (does not
// skip) when torch_cuda was dropped at link time or no GPU is visible.
TEST(Engine, CudaBuildRunsOnCudaLikeOnCpu) {
  if (!fiancee::built_with_cuda()) GTEST_SKIP() << "CPU-only build (Debian LibTorch); nothing claims CUDA";
  ASSERT_TRUE(torch::cuda::is_available()) << "built with CUDA but torch::cuda::is_available() is false "
                                              "(torch_cuda not linked, or no GPU visible)";
  Fixture f;
  const auto [input, key] = f.frames(3);
  const auto cpu = f.engine->run(input, key, forced(0)).images;
  Engine gpu(fiancee::models::load_graph(*f.pkg), f.pkg->manifest(), f.pkg->guide_database(),
             fiancee::resolve_device(fiancee::Device::Cuda));
  const auto run = gpu.run(input, key, forced(0));
  EXPECT_TRUE(run.images.is_cpu()) << "images come back to the host (through pinned memory)";
  EXPECT_LT((run.images - cpu).abs().max().item<float>(), 1e-3);
  EXPECT_TRUE(run.reports[0].stage_ms.empty()) << "no per-stage device waits unless stage timing is asked for";
  EXPECT_GT(run.reports[0].total_ms, 0.0);
  gpu.set_stage_timing(true);
  EXPECT_FALSE(gpu.run(input, key, forced(0)).reports[0].stage_ms.empty());
}

TEST(Engine, TargetMissRateComparesPredictionsWithTheCalibratedThreshold) {
  Fixture f;
  auto [input, key] = f.frames(4);
  const std::string sf = f.pkg->manifest().default_scale_factor;
  const auto& gflops = f.pkg->manifest().scale_factor(sf).route_gflops;
  // Calibration frames of an optimistic predictor: every branch measures 0.1 worse than predicted.
  fiancee::Calibration cal;
  for (int i = 0; i < 200; ++i) {
    const double p = 0.001 * i;
    cal.predicted.push_back({p, p, p, 0.0});
    cal.measured.push_back({p + 0.1, p + 0.1, p + 0.1, 0.0});
  }
  RouteSettings s;
  s.quality_threshold = 0.15;
  s.target_miss_rate = 0.05;
  EXPECT_DOUBLE_EQ(f.engine->run(input, key, s).reports[0].threshold, 0.15) << "no calibration: the threshold as given";
  f.engine->set_calibrations({{sf, cal}});
  EXPECT_TRUE(f.engine->calibrated(sf));
  const double margin = fiancee::conformal_margin(cal, gflops, 0.15, 0.05);
  ASSERT_GT(margin, 0.0);
  for (const auto& r : f.engine->run(input, key, s).reports) {
    EXPECT_DOUBLE_EQ(r.threshold, 0.15 - margin);
    EXPECT_EQ(r.exit, fiancee::choose_route(r.predicted, gflops, r.threshold, -1, false).exit);
  }
  // New calibration frames (a predictor that is never wrong): their own margin, not the cached one.
  fiancee::Calibration exact = cal;
  exact.measured = exact.predicted;
  f.engine->set_calibrations({{sf, exact}});
  EXPECT_DOUBLE_EQ(f.engine->run(input, key, s).reports[0].threshold, 0.15 - fiancee::conformal_margin(exact, gflops, 0.15, 0.05));
  EXPECT_NE(fiancee::conformal_margin(exact, gflops, 0.15, 0.05), margin);
  s.target_miss_rate = 0;
  EXPECT_DOUBLE_EQ(f.engine->run(input, key, s).reports[0].threshold, 0.15) << "target off";
}

TEST(Engine, LatencyBudgetTakesTheBestRouteThatFits) {
  Fixture f;
  auto [input, key] = f.frames(3);
  RouteSettings s;
  s.quality_threshold = 0.0;  // the router wants the backbone
  s.latency_budget_ms = 10;
  s.route_ms = {2, 4, 8, 50};  // only the branches fit
  for (const auto& r : f.engine->run(input, key, s).reports) {
    EXPECT_EQ(r.wanted_exit, 3);
    EXPECT_LT(r.exit, 3);
    for (int e = 0; e < 3; ++e) EXPECT_LE(r.predicted[size_t(r.exit)], r.predicted[size_t(e)]) << "the best-predicted fitting exit";
    EXPECT_TRUE(r.budget_limited);
  }
  s.route_ms = {2, 4, 8, 9};  // everything fits: quality routing as without a budget
  for (const auto& r : f.engine->run(input, key, s).reports) {
    EXPECT_EQ(r.exit, 3);
    EXPECT_FALSE(r.budget_limited);
  }
  s.route_ms = {2, 4, 8, 50};
  s.forced_exit = 3;  // a forced exit ignores the budget
  EXPECT_EQ(f.engine->run(input, key, s).reports[0].exit, 3);
  s.forced_exit = -1;
  s.route_ms.clear();  // times not known yet: no budget routing
  EXPECT_EQ(f.engine->run(input, key, s).reports[0].exit, 3);
}

TEST(Engine, Bf16RendersEveryRouteCloseToFp32AndReturnsFloat) {
  Fixture f;
  auto [input, key] = f.frames(2);
  std::vector<torch::Tensor> fp32;
  for (int e = 0; e < 4; ++e) fp32.push_back(f.engine->run(input, key, forced(e)).images);
  f.engine->set_precision(fiancee::Precision::Bf16);
  EXPECT_EQ(f.engine->precision(), fiancee::Precision::Bf16);
  for (int e = 0; e < 4; ++e) {
    const auto out = f.engine->run(input, key, forced(e));
    EXPECT_EQ(out.images.scalar_type(), torch::kFloat) << "exit " << e;
    const double diff = (out.images - fp32[e]).abs().max().item<double>();
    EXPECT_GT(diff, 0) << "exit " << e << ": bf16 gave the fp32 image bit for bit (did it run in bf16?)";
    EXPECT_LT(diff, 0.1) << "exit " << e;
  }
}

namespace {

// A graph whose branches have no bfloat16 kernel, like an operation LibTorch lacks one for.
class NoBf16BranchGraph : public CountingGraph {
 public:
  using CountingGraph::CountingGraph;
  torch::Tensor branch(const std::string& sf, int b, const torch::Tensor& x, const torch::Tensor& guide) override {
    if (x.scalar_type() == torch::kBFloat16) throw std::runtime_error("\"branch_op\" not implemented for 'BFloat16'\nmore lines");
    return CountingGraph::branch(sf, b, x, guide);
  }
};

// A graph that keeps float weights (as TorchScript graphs do).
class FloatOnlyGraph : public CountingGraph {
 public:
  using CountingGraph::CountingGraph;
  bool set_dtype(torch::ScalarType dtype) override { return dtype == torch::kFloat; }
};

}  // namespace

TEST(Engine, Bf16WithoutKernelsFailsAtOnceNamingTheModelAndStaysFp32) {
  Fixture f;
  auto graph = std::make_shared<NoBf16BranchGraph>(fiancee::models::load_graph(*f.pkg));
  Engine engine(graph, f.pkg->manifest(), nullptr, torch::kCPU);
  try {
    engine.set_precision(fiancee::Precision::Bf16);
    FAIL() << "no UnavailableError";
  } catch (const fiancee::UnavailableError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(f.pkg->manifest().name), std::string::npos) << m;
    EXPECT_NE(m.find("bf16"), std::string::npos) << m;
    EXPECT_NE(m.find("not implemented for 'BFloat16'"), std::string::npos) << m;
    EXPECT_EQ(m.find("more lines"), std::string::npos) << m;
  }
  EXPECT_EQ(engine.precision(), fiancee::Precision::Fp32);
  auto [input, key] = f.frames(1);
  EXPECT_NO_THROW(engine.run(input, key, forced(0)));  // still runs, in float

  Engine float_only(std::make_shared<FloatOnlyGraph>(fiancee::models::load_graph(*f.pkg)), f.pkg->manifest(), nullptr, torch::kCPU);
  EXPECT_THROW(float_only.set_precision(fiancee::Precision::Bf16), fiancee::UnavailableError);
}
