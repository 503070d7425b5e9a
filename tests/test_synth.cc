// The semantic-synthesis pipeline without GStreamer: inputs and noise, the
// OASIS patch guide database through the engine, package selection, the
// pipeline on GRAY8 label frames, and the bundled scenes-demo packages.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "core/engine.h"
#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "models/oasis.h"
#include "models/registry.h"
#include "datasets/street_scenes.h"
#include "pipelines/synth.h"
#include "pipelines/synth_inputs.h"
#include "training/synth_package.h"
#include "tests/fixtures.h"

namespace {

using fiancee::synth::kNumClasses;

const fiancee::models::Family& family(const std::string& name) { return fiancee::models::family(name, "test_synth"); }

// A label map as GRAY8 bytes (width a multiple of 4: no row padding).
std::vector<uint8_t> gray8(const torch::Tensor& labels) {
  auto t = labels.to(torch::kUInt8).contiguous();
  return {t.data_ptr<uint8_t>(), t.data_ptr<uint8_t>() + t.numel()};
}

struct Frame {
  std::vector<uint8_t> out;
  fiancee::FrameReport report;
};

Frame render(fiancee::FramePipeline& p, std::vector<uint8_t> labels, int w, int h, const fiancee::RouteSettings& s) {
  Frame f;
  f.out.assign(static_cast<size_t>(w) * h * 3, 0);
  fiancee::ImageView in{labels.data(), w, h, w, 1}, out{f.out.data(), w, h, w * 3, 3};
  p.process(in, out, s, f.report);
  return f;
}

}  // namespace

TEST(SynthInputs, NoiseIsDeterministicAndNormal) {
  auto a = fiancee::synth::noise_for_seed(7, 4096), b = fiancee::synth::noise_for_seed(7, 4096);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, fiancee::synth::noise_for_seed(8, 4096)));
  EXPECT_NEAR(a.mean().item<double>(), 0.0, 0.06);
  EXPECT_NEAR(a.std().item<double>(), 1.0, 0.06);
  EXPECT_EQ(fiancee::synth::noise_for_seed(1, 5).sizes(), (std::vector<int64_t>{1, 5}));
}

TEST(SynthInputs, FamiliesAndBadClassIds) {
  auto labels = torch::randint(0, kNumClasses, {2, 8, 16}, torch::kLong);
  auto oasis = fiancee::synth::backbone_input(family("oasis"), labels, fiancee::synth::noise_for_seed(0, 4), kNumClasses);
  EXPECT_EQ(oasis.sizes(), (std::vector<int64_t>{2, 4 + kNumClasses, 8, 16}));
  auto asap = fiancee::synth::backbone_input(family("asap"), labels, {}, kNumClasses);
  EXPECT_EQ(asap.sizes(), (std::vector<int64_t>{2, kNumClasses, 8, 16}));
  EXPECT_TRUE(torch::equal(asap.sum(1), torch::ones({2, 8, 16})));
  labels[1][3][3] = kNumClasses;
  try {
    fiancee::synth::backbone_input(family("asap"), labels, {}, kNumClasses);
    FAIL() << "class id beyond the model's classes accepted";
  } catch (const fiancee::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("class id 12"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fiancee::synth::backbone_input(family("g2d"), labels.clamp_max(0), {}, kNumClasses), fiancee::InputError);
}

TEST(PatchDatabase, SearchStaysWithinTheQueryClass) {
  torch::manual_seed(1);
  fiancee::models::OasisGraph graph(fiancee::synth::oasis_config(kNumClasses, 64, 128, 16, true, {"1/2"}));
  graph.eval();
  fiancee::synth::StreetScenes scenes(64, 128, 3);
  const auto z = fiancee::synth::noise_for_seed(0, graph.config().z_dim);
  const auto db = fiancee::synth::build_patch_database(graph, fiancee::synth::scene_batch(scenes, 0, 6).labels, z, 5);
  ASSERT_TRUE(db.labels().defined());
  // At most 5 per class, and more than one class present.
  std::set<int64_t> classes;
  for (int c = 0; c < kNumClasses; ++c) {
    const auto count = (db.labels() == c).sum().item<int64_t>();
    EXPECT_LE(count, 5) << "class " << c;
    if (count > 0) classes.insert(c);
  }
  EXPECT_GE(classes.size(), 4u);

  torch::NoGradGuard no_grad;
  auto x = graph.front(fiancee::synth::backbone_input(family("oasis"), fiancee::synth::scene_batch(scenes, 100, 3).labels, z, kNumClasses));
  const auto query = graph.guide_query(x);
  ASSERT_EQ(query.keys.size(0), 3 * 2 * 4);  // one key per H/32 x W/32 cell of three frames
  const auto found = db.lookup(query.keys, query.labels);
  int matched = 0;
  for (int64_t q = 0; q < query.keys.size(0); ++q) {
    const int64_t id = found.ids[q], cls = query.labels[q].item<int64_t>();
    if (!classes.count(cls)) {
      EXPECT_EQ(id, -1) << "query of a class the database lacks found a key";
      continue;
    }
    ASSERT_GE(id, 0);
    EXPECT_EQ(db.labels()[id].item<int64_t>(), cls) << "query " << q << " of class " << cls << " found a key of another class";
    ++matched;
  }
  EXPECT_GT(matched, 0);
  EXPECT_EQ(graph.guide_from_values(found.values, 3).sizes(),
            (std::vector<int64_t>{3, graph.config().guide_channels, 8, 16}));  // glued back at block 3's resolution
}

TEST(SynthPipeline, RendersGray8LabelMapsThroughTheEngine) {
  fiancee::testing::TempDir tmp;
  fiancee::synth::write_demo_package(tmp.file("oasis"));
  fiancee::SynthOptions o;
  o.model_location = tmp.file("oasis");
  auto pipeline = fiancee::make_synth_pipeline(o);
  EXPECT_EQ(pipeline->info().num_exits, 5);
  fiancee::synth::StreetScenes scenes(48, 96, 5);  // not the model's 32x64: resized nearest
  const auto labels = gray8(scenes.scene(0).labels);
  std::vector<std::vector<uint8_t>> images;
  for (int e = 0; e < pipeline->info().num_exits; ++e) {
    fiancee::RouteSettings s;
    s.forced_exit = e;
    auto f = render(*pipeline, labels, 96, 48, s);
    EXPECT_EQ(f.report.exit, e);
    EXPECT_LE(f.report.gflops, f.report.backbone_gflops);
    images.push_back(f.out);
  }
  EXPECT_NE(images.front(), images.back()) << "the cheapest exit rendered exactly the backbone's image";
  // The patch database is looked up for branch routes.
  fiancee::RouteSettings s;
  s.forced_exit = 0;
  const auto f = render(*pipeline, labels, 96, 48, s);
  bool looked_up = false;
  for (const auto& [step, ms] : f.report.stage_ms) looked_up |= step == "guide_db";
  EXPECT_TRUE(looked_up);
  // A fixed seed renders the same map identically.
  EXPECT_EQ(render(*pipeline, labels, 96, 48, s).out, f.out);
}

TEST(SynthPipeline, NoiseModesAndSeeds) {
  fiancee::testing::TempDir tmp;
  fiancee::synth::write_demo_package(tmp.file("oasis"));
  fiancee::synth::StreetScenes scenes(32, 64, 5);
  const auto labels = gray8(scenes.scene(1).labels);
  fiancee::RouteSettings s;
  s.forced_exit = 4;
  fiancee::SynthOptions o;
  o.model_location = tmp.file("oasis");
  o.noise = fiancee::NoiseMode::PerFrame;
  auto per_frame = fiancee::make_synth_pipeline(o);
  const auto a = render(*per_frame, labels, 64, 32, s).out, b = render(*per_frame, labels, 64, 32, s).out;
  EXPECT_NE(a, b) << "per-frame noise left two frames of the same map identical";
  o.noise = fiancee::NoiseMode::Fixed;
  auto fixed = fiancee::make_synth_pipeline(o);
  EXPECT_EQ(render(*fixed, labels, 64, 32, s).out, a) << "fixed noise with seed 0 should equal per-frame noise's first frame";
  o.seed = 3;
  auto other = fiancee::make_synth_pipeline(o);
  EXPECT_NE(render(*other, labels, 64, 32, s).out, a);
}

TEST(SynthPipeline, RefusesBadLabelMapsAndPackages) {
  fiancee::testing::TempDir tmp;
  fiancee::synth::write_demo_package(tmp.file("oasis"));
  fiancee::SynthOptions o;
  o.model_location = tmp.file("oasis");
  auto pipeline = fiancee::make_synth_pipeline(o);
  std::vector<uint8_t> labels(64 * 32, 1);
  labels[100] = 200;
  try {
    render(*pipeline, labels, 64, 32, {});
    FAIL() << "class id 200 accepted";
  } catch (const fiancee::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("class id 200"), std::string::npos) << e.what();
  }
  o.backbone = "asap";
  EXPECT_THROW(fiancee::make_synth_pipeline(o), fiancee::InputError);  // a single OASIS package
  o.backbone.clear();
  o.model_location = tmp.file("missing");
  EXPECT_THROW(fiancee::make_synth_pipeline(o), fiancee::PackageError);
}

// Resizing to the model's size drops pixels: the ids are checked on the frame as given.
TEST(SynthPipeline, ClassIdsAreCheckedBeforeTheResize) {
  fiancee::testing::TempDir tmp;
  fiancee::synth::write_demo_package(tmp.file("oasis"));
  fiancee::SynthOptions o;
  o.model_location = tmp.file("oasis");
  auto pipeline = fiancee::make_synth_pipeline(o);
  std::vector<uint8_t> labels(128 * 64, 1);  // twice the model's 64x32: nearest keeps the even rows and columns
  labels[1 * 128 + 1] = 200;
  try {
    render(*pipeline, labels, 128, 64, {});
    FAIL() << "class id 200 on a pixel the downscale drops was accepted";
  } catch (const fiancee::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "label map holds class id 200 at x=1, y=1 but the model knows 12 classes (0..11; "
                                     "docs/synthesis.md#label-maps)");
  }
}

TEST(SynthPipeline, ChoosesTheBackboneFromADirectoryOfPackages) {
  fiancee::testing::TempDir tmp;
  fiancee::synth::write_demo_package(tmp.file("set/oasis"));
  fiancee::synth::DemoPackageOptions asap;
  asap.family = "asap";
  fiancee::synth::write_demo_package(tmp.file("set/asap"), asap);
  EXPECT_EQ(fiancee::resolve_synth_package(tmp.file("set"), ""), tmp.file("set/asap"));  // first by name
  EXPECT_EQ(fiancee::resolve_synth_package(tmp.file("set"), "oasis"), tmp.file("set/oasis"));
  try {
    fiancee::resolve_synth_package(tmp.file("set"), "spade");
    FAIL() << "unknown backbone accepted";
  } catch (const fiancee::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("asap, oasis"), std::string::npos) << e.what();
  }
  fiancee::SynthOptions o;
  o.model_location = tmp.file("set");
  o.backbone = "asap";
  auto pipeline = fiancee::make_synth_pipeline(o);
  fiancee::synth::StreetScenes scenes(32, 64, 5);
  fiancee::RouteSettings s;
  s.forced_exit = 0;
  EXPECT_EQ(render(*pipeline, gray8(scenes.scene(2).labels), 64, 32, s).report.exit, 0);
}

// The bundled packages (scripts/train-scenes-demo.sh): they validate and, on a
// procedural label-map clip no training run saw, a mid threshold uses more than one exit.
TEST(BundledScenes, ValidateAndRouteAClipThroughSeveralExits) {
  const std::string dir = std::string(FIANCEE_SOURCE_DIR) + "/assets/scenes-demo";
  for (const std::string family : {"oasis", "asap"}) {
    const auto pkg = fiancee::Package::open(dir + "/" + family);  // throws on any hash mismatch
    EXPECT_FALSE(pkg.manifest().untrained) << family;
    EXPECT_EQ(pkg.manifest().pipeline, "synth");
    EXPECT_EQ(pkg.manifest().family, family);
    EXPECT_EQ(pkg.manifest().scale_factors.size(), 2u);
    EXPECT_EQ(family == "oasis", pkg.manifest().guide_database.has_value());
    fiancee::SynthOptions o;
    o.model_location = dir;
    o.backbone = family;
    auto pipeline = fiancee::make_synth_pipeline(o);
    fiancee::synth::StreetScenes scenes(128, 256, 1);
    std::set<int> exits;
    fiancee::RouteSettings s;
    // Mid-range for each package on this clip (docs/synthesis.md#results has the sweeps).
    s.quality_threshold = family == "oasis" ? 0.06 : 0.125;
    for (int t = 0; t < 24; ++t) {
      const auto f = render(*pipeline, gray8(scenes.clip_frame(0, t).labels), 256, 128, s);
      exits.insert(f.report.exit);
      EXPECT_LE(f.report.gflops, f.report.backbone_gflops * 1.0001);
    }
    EXPECT_GE(exits.size(), 2u) << family << ": a mid threshold should route frames to more than one exit";
  }
}
