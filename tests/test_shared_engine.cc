#include <gtest/gtest.h>

#include <torch/torch.h>

#include <atomic>
#include <thread>

#include "core/errors.h"
#include "core/package.h"
#include "core/shared_engine.h"
#include "models/registry.h"
#include "pipelines/reenact_inputs.h"
#include "tests/fixtures.h"
#include "training/reenact_package.h"

using fiancee::Engine;
using fiancee::EngineOutput;
using fiancee::RouteSettings;
using fiancee::SharedEngine;
using fiancee::testing::TempDir;

namespace {

struct Fixture {
  TempDir tmp;
  std::unique_ptr<fiancee::Package> pkg;
  std::atomic<int> made{0};  // engines make() built

  Fixture() {
    fiancee::DemoPackageOptions o;
    o.resolution = 32;
    o.base_channels = 8;
    fiancee::write_demo_package(tmp.file("pkg"), o);
    pkg = std::make_unique<fiancee::Package>(fiancee::Package::open(tmp.file("pkg")));
  }
  std::unique_ptr<Engine> make() {
    ++made;
    return std::make_unique<Engine>(fiancee::models::load_graph(*pkg), pkg->manifest(), pkg->guide_database(), torch::kCPU);
  }
  std::unique_ptr<SharedEngine::Stream> join(const std::string& name, double window_ms, const std::string& identity = "pkg") {
    return SharedEngine::join(name, identity, window_ms, [&] { return make(); });
  }
  static std::pair<torch::Tensor, torch::Tensor> frame(uint64_t seed) {
    torch::manual_seed(seed);
    return {torch::rand({1, fiancee::reenact::kRefinerInputChannels, 32, 32}) * 2 - 1, torch::randn({1, fiancee::reenact::kKeyDim})};
  }
};

RouteSettings forced(int e) {
  RouteSettings s;
  s.forced_exit = e;
  return s;
}

// Each stream's frames from its own thread at once, as elements' streaming threads do.
std::vector<EngineOutput> run_together(const std::vector<SharedEngine::Stream*>& streams, const std::vector<RouteSettings>& settings,
                                       const std::vector<uint64_t>& seeds) {
  std::vector<EngineOutput> out(streams.size());
  std::vector<std::pair<torch::Tensor, torch::Tensor>> frames;  // made here: the seeded generator is process-wide
  for (uint64_t seed : seeds) frames.push_back(Fixture::frame(seed));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < streams.size(); ++i)
    threads.emplace_back([&, i] { out[i] = streams[i]->run(frames[i].first, frames[i].second, settings[i]); });
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

TEST(SharedEngine, StreamsOfOneNameShareOneEngineAndBatchWithTheirOwnRoutes) {
  Fixture f;
  // A window far longer than the test: the batch must form because both streams have a frame queued.
  auto a = f.join("test-share", 60000), b = f.join("test-share", 60000);
  EXPECT_EQ(f.made, 1);
  EXPECT_EQ(&a->engine(), &b->engine());
  auto own = SharedEngine::own(f.make());
  for (int round = 0; round < 3; ++round) {
    const std::vector<RouteSettings> settings{forced(round), forced(3)};  // mixed exits in one batch
    const auto out = run_together({a.get(), b.get()}, settings, {10u + round, 20u + round});
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(out[i].reports.size(), 1u);
      EXPECT_EQ(out[i].reports[0].batch, 2) << "round " << round << " stream " << i;
      EXPECT_EQ(out[i].reports[0].exit, settings[i].forced_exit);
      // The same frame through an engine of its own: the same image.
      auto [input, key] = Fixture::frame(i == 0 ? 10u + round : 20u + round);
      const auto alone = own->run(input, key, settings[i]);
      EXPECT_EQ(alone.reports[0].batch, 1);
      EXPECT_TRUE(torch::allclose(alone.images, out[i].images, 0, 1e-6))  // batched kernels round differently: ~1e-7
          << "stream " << i << " exit " << settings[i].forced_exit << ": max difference "
          << (alone.images - out[i].images).abs().max().item<double>();
    }
  }
}

TEST(SharedEngine, PerFrameThresholdsRouteEachStreamOnItsOwn) {
  Fixture f;
  auto a = f.join("test-thresholds", 60000), b = f.join("test-thresholds", 60000);
  RouteSettings backbone, cheapest;
  backbone.quality_threshold = 0;   // always the backbone
  cheapest.quality_threshold = 1e9;  // always exit 0
  const auto out = run_together({a.get(), b.get()}, {backbone, cheapest}, {1, 2});
  EXPECT_EQ(out[0].reports[0].batch, 2);
  EXPECT_EQ(out[0].reports[0].exit, 3);
  EXPECT_EQ(out[1].reports[0].exit, 0);
}

TEST(SharedEngine, AnotherModelUnderTheSameNameIsRefusedNamingBoth) {
  Fixture f;
  auto a = f.join("test-identity", 0, "package /a on cpu");
  try {
    f.join("test-identity", 0, "package /b on cpu");
    FAIL() << "no InputError";
  } catch (const fiancee::InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("test-identity"), std::string::npos) << m;
    EXPECT_NE(m.find("/a on cpu"), std::string::npos) << m;
    EXPECT_NE(m.find("/b on cpu"), std::string::npos) << m;
  }
  EXPECT_THROW(f.join("", 0), fiancee::InputError);
  EXPECT_THROW(f.join("test-window", -1), fiancee::InputError);
}

TEST(SharedEngine, TheEngineLivesAsLongAsItsStreams) {
  Fixture f;
  {
    auto a = f.join("test-lifetime", 0);
    auto b = f.join("test-lifetime", 0);
    EXPECT_EQ(a->engine().manifest().name, f.pkg->manifest().name);
  }
  EXPECT_EQ(f.made, 1);
  auto c = f.join("test-lifetime", 0);  // all streams left: weights were released, a new engine loads
  EXPECT_EQ(f.made, 2);
}

TEST(SharedEngine, AnIdleStreamDelaysOthersByTheWindowOnly) {
  Fixture f;
  auto busy = f.join("test-idle", 20), idle = f.join("test-idle", 20);
  for (uint64_t i = 0; i < 3; ++i) {
    auto [input, key] = Fixture::frame(i);
    const auto out = busy->run(input, key, forced(0));  // returns although `idle` never sends a frame
    EXPECT_EQ(out.reports[0].batch, 1);
  }
}

TEST(SharedEngine, ABrokenFrameFailsItsOwnStreamOnly) {
  Fixture f;
  auto a = f.join("test-errors", 60000), b = f.join("test-errors", 60000);
  std::exception_ptr error_a, error_b;
  EngineOutput out_b;
  auto [input_a, key_a] = Fixture::frame(1);
  input_a.fill_(std::numeric_limits<float>::quiet_NaN());
  auto [input_b, key_b] = Fixture::frame(2);
  std::thread ta([&] {
    try {
      a->run(input_a, key_a, forced(3));
    } catch (...) {
      error_a = std::current_exception();
    }
  });
  std::thread tb([&] {
    try {
      out_b = b->run(input_b, key_b, forced(3));
    } catch (...) {
      error_b = std::current_exception();
    }
  });
  ta.join();
  tb.join();
  EXPECT_TRUE(error_a) << "the NaN frame's stream got no error";
  if (error_a) {
    EXPECT_THROW(std::rethrow_exception(error_a), fiancee::NonFiniteError);
  }
  EXPECT_FALSE(error_b) << "the other stream got the NaN frame's error";
  ASSERT_EQ(out_b.reports.size(), 1u);
  EXPECT_TRUE(torch::isfinite(out_b.images).all().item<bool>());
}

TEST(Engine, OneBatchRefusesTwoScaleFactors) {
  Fixture f;
  auto engine = f.make();
  torch::manual_seed(3);
  const auto input = torch::rand({2, fiancee::reenact::kRefinerInputChannels, 32, 32});
  const auto key = torch::randn({2, fiancee::reenact::kKeyDim});
  std::vector<RouteSettings> settings(2);
  settings[0].scale_factor = "1/2";
  settings[1].scale_factor = "1/4";
  EXPECT_THROW(engine->run(input, key, settings), fiancee::InputError);
  EXPECT_THROW(engine->run(input, key, std::vector<RouteSettings>(3)), fiancee::InputError);
}

TEST(SharedEngine, StreamsOnOtherScaleFactorsRunInTheirOwnBatches) {
  Fixture f;
  // The 1/4 frame waits (up to its window) for a second 1/4 frame that never comes.
  auto a = f.join("test-scale-factors", 50), b = f.join("test-scale-factors", 50);
  RouteSettings half, quarter;
  half.scale_factor = "1/2";
  quarter.scale_factor = "1/4";
  half.forced_exit = quarter.forced_exit = 0;
  const auto out = run_together({a.get(), b.get()}, {half, quarter}, {5, 6});
  EXPECT_EQ(out[0].reports[0].scale_factor, "1/2");
  EXPECT_EQ(out[1].reports[0].scale_factor, "1/4");
  EXPECT_EQ(out[0].reports[0].batch, 1);
  EXPECT_EQ(out[1].reports[0].batch, 1);
}
