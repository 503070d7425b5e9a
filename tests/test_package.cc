#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/file_access.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "pipelines/package_pipeline.h"
#include "training/reenact_package.h"
#include "tests/fixtures.h"

using fiancee::Package;
using fiancee::PackageError;
using fiancee::testing::TempDir;
using nlohmann::json;

namespace {

std::string demo(const TempDir& tmp, fiancee::DemoPackageOptions o = {}) {
  const std::string dir = tmp.file("pkg");
  o.resolution = 32;
  o.base_channels = 8;
  fiancee::write_demo_package(dir, o);
  return dir;
}

json read_manifest(const std::string& dir) {
  std::ifstream in(dir + "/manifest.json");
  return json::parse(in);
}

// Rewrites the manifest (and, by default, nothing else: hashes stay as they were).
void write_manifest(const std::string& dir, const json& j) { std::ofstream(dir + "/manifest.json") << j.dump(2); }

// Expects open + load to fail with a message containing every fragment.
void expect_refused(const std::string& dir, const std::vector<std::string>& fragments) {
  try {
    auto pkg = Package::open(dir);
    fiancee::models::load_graph(pkg);
    pkg.guide_database();
    FAIL() << "package was accepted";
  } catch (const PackageError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what() << "\n  lacks: " << f;
  }
}

// Rewrites the manifest's hashes from the files as they are now.
void rehash(const std::string& dir) {
  std::ifstream in(dir + "/manifest.json");
  std::stringstream text;
  text << in.rdbuf();
  Package::write(dir, fiancee::Manifest::parse(text.str(), "manifest.json"));
}

}  // namespace

TEST(Package, ValidDemoPackageLoads) {
  TempDir tmp;
  const auto dir = demo(tmp);
  auto pkg = Package::open(dir);
  EXPECT_TRUE(pkg.manifest().untrained);
  EXPECT_EQ(pkg.manifest().num_exits(), 4);
  EXPECT_EQ(pkg.manifest().scale_factors.size(), 2u);
  auto graph = fiancee::models::load_graph(pkg);
  EXPECT_EQ(graph->num_branches(), 3);
  auto db = pkg.guide_database();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->size(), 32);
  // Route costs grow with the attach point and the backbone is the dearest.
  const auto& g = pkg.manifest().scale_factor("1/4").route_gflops;
  for (size_t e = 1; e < g.size(); ++e) EXPECT_LT(g[e - 1], g[e]);
}

TEST(Package, MissingDirectoryNamesIt) { expect_refused("/nonexistent/fiancee-pkg", {"/nonexistent/fiancee-pkg", "no such"}); }

TEST(Package, MissingManifest) {
  TempDir tmp;
  const auto dir = demo(tmp);
  std::filesystem::remove(dir + "/manifest.json");
  expect_refused(dir, {"manifest.json", "no such file"});
}

TEST(Package, ManifestNotJson) {
  TempDir tmp;
  const auto dir = demo(tmp);
  std::ofstream(dir + "/manifest.json") << "{ not json";
  expect_refused(dir, {"manifest.json", "not valid JSON"});
}

TEST(Package, ManifestWrongVersion) {
  TempDir tmp;
  const auto dir = demo(tmp);
  auto j = read_manifest(dir);
  j["format_version"] = 99;
  write_manifest(dir, j);
  expect_refused(dir, {"format_version", "99"});
}

TEST(Package, ManifestMissingField) {
  TempDir tmp;
  const auto dir = demo(tmp);
  auto j = read_manifest(dir);
  j.erase("metric");
  write_manifest(dir, j);
  expect_refused(dir, {"'metric'", "missing"});
}

TEST(Package, ManifestWrongShape) {
  // The architecture says a block is wider than the weights file holds.
  TempDir tmp;
  const auto dir = demo(tmp);
  auto j = read_manifest(dir);
  j["architecture"]["stages"][8][1] = 12;
  write_manifest(dir, j);
  expect_refused(dir, {"backbone.safetensors", "shape"});
}

TEST(Package, ManifestWrongRouteGflops) {
  TempDir tmp;
  const auto dir = demo(tmp);
  auto j = read_manifest(dir);
  j["scale_factors"][0]["route_gflops"][0] = 1000.0;
  write_manifest(dir, j);
  expect_refused(dir, {"route_gflops", "architecture costs"});
}

TEST(Package, HashMismatch) {
  TempDir tmp;
  const auto dir = demo(tmp);
  std::fstream f(dir + "/backbone.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(-4, std::ios::end);
  f.write("\x01\x02\x03\x04", 4);
  f.close();
  expect_refused(dir, {"backbone.safetensors", "SHA-256"});
}

TEST(Package, MissingWeightsFile) {
  TempDir tmp;
  const auto dir = demo(tmp);
  std::filesystem::remove(dir + "/branches-1_2.safetensors");
  expect_refused(dir, {"branches-1_2.safetensors", "missing"});
}

TEST(Package, UnhashedFile) {
  TempDir tmp;
  const auto dir = demo(tmp);
  auto j = read_manifest(dir);
  j["files"].erase("backbone.safetensors");
  write_manifest(dir, j);
  expect_refused(dir, {"backbone.safetensors", "no hash"});
}

TEST(Package, WeightsForAnotherModel) {
  // A consistent package (hashes rewritten) whose weights miss a tensor.
  TempDir tmp;
  const auto dir = demo(tmp);
  auto tensors = fiancee::safetensors::load(dir + "/backbone.safetensors");
  tensors.erase("head.conv.weight");
  fiancee::safetensors::save(dir + "/backbone.safetensors", tensors);
  rehash(dir);
  expect_refused(dir, {"backbone.safetensors", "head.conv.weight", "missing"});
}

TEST(Package, DatabaseForAnotherModel) {
  TempDir tmp;
  const auto dir = demo(tmp);
  const std::string other = tmp.file("otherdb");
  std::filesystem::create_directories(other);
  fiancee::GuideDatabase db(torch::rand({5, 7}), torch::rand({5, 3, 32, 32}));
  db.save(other, "guide");
  auto pkg = Package::open(dir);
  try {
    pkg.guide_database(other);
    FAIL() << "mismatched database accepted";
  } catch (const PackageError& e) {
    EXPECT_NE(std::string(e.what()).find("7 dimensions"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(other), std::string::npos) << e.what();
  }
}

TEST(Package, UnknownScaleFactorListsValidOnes) {
  TempDir tmp;
  auto pkg = Package::open(demo(tmp));
  try {
    pkg.manifest().scale_factor("1/8");
    FAIL();
  } catch (const fiancee::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("1/2, 1/4"), std::string::npos) << e.what();
  }
}

// Special files in place of package files: each refused at open, never read
// forever or waited on (a hang here times the test out).
TEST(Package, SpecialFilesAreRefused) {
  TempDir tmp;
  const auto dir = demo(tmp);
  const std::string weights = dir + "/backbone.safetensors", manifest = dir + "/manifest.json";
  const std::string saved = tmp.file("manifest.saved");
  std::filesystem::copy_file(manifest, saved);

  std::filesystem::remove(weights);
  std::filesystem::create_symlink("/dev/zero", weights);
  expect_refused(dir, {"/dev/zero", "outside the package"});  // resolved before it is read

  std::filesystem::remove(weights);
  ASSERT_EQ(::mkfifo(weights.c_str(), 0600), 0);
  expect_refused(dir, {weights, "is a FIFO, not a regular file"});

  std::filesystem::remove(manifest);
  ASSERT_EQ(::mkfifo(manifest.c_str(), 0600), 0);
  expect_refused(dir, {manifest, "is a FIFO, not a regular file"});

  std::filesystem::remove(manifest);
  std::filesystem::create_symlink("/dev/zero", manifest);
  expect_refused(dir, {"/dev/zero", "outside the package"});

  // Inside the package a link to a device is still not a file.
  std::filesystem::remove(manifest);
  ASSERT_EQ(::mkfifo((dir + "/null").c_str(), 0600), 0);
  std::filesystem::create_symlink("null", manifest);
  expect_refused(dir, {manifest, "is a FIFO"});
}

TEST(Package, ManifestOverTheSizeCapIsNotRead) {
  TempDir tmp;
  const auto dir = demo(tmp);
  ASSERT_EQ(::truncate((dir + "/manifest.json").c_str(), fiancee::kMaxJsonBytes + 1), 0);
  expect_refused(dir, {"manifest.json", "more than the 4 MiB"});
}

TEST(Package, SymlinkLeavingThePackageIsRefused) {
  TempDir tmp;
  const auto dir = demo(tmp);
  const std::string outside = tmp.file("elsewhere.safetensors");
  std::filesystem::rename(dir + "/backbone.safetensors", outside);
  std::filesystem::create_symlink(outside, dir + "/backbone.safetensors");
  expect_refused(dir, {"backbone.safetensors", "outside the package"});
  // A link that stays inside is fine.
  std::filesystem::remove(dir + "/backbone.safetensors");
  std::filesystem::rename(outside, dir + "/weights.bin");
  std::filesystem::create_symlink("weights.bin", dir + "/backbone.safetensors");
  EXPECT_NO_THROW(fiancee::models::load_graph(Package::open(dir)));
}

TEST(Package, IntegerTensorsAreNotConvertedIntoWeights) {
  TempDir tmp;
  const auto dir = demo(tmp);
  auto tensors = fiancee::safetensors::load(dir + "/backbone.safetensors");
  tensors["head.conv.weight"] = tensors["head.conv.weight"].to(torch::kInt32);
  fiancee::safetensors::save(dir + "/backbone.safetensors", tensors);
  rehash(dir);
  expect_refused(dir, {"backbone.safetensors", "head.conv.weight", "is Int", "floating-point"});
}

TEST(Package, DefaultThresholdOutsideThePropertyRange) {
  for (double bad : {-1.0, 1e308}) {
    TempDir tmp;
    const auto dir = demo(tmp);
    auto j = read_manifest(dir);
    j["metric"]["default_threshold"] = bad;
    write_manifest(dir, j);
    expect_refused(dir, {"metric.default_threshold", "must be in [0, 1000.0]"});
  }
}

TEST(Package, DeeplyNestedManifestIsRefusedEarly) {
  TempDir tmp;
  const auto dir = demo(tmp);
  std::ofstream(dir + "/manifest.json") << std::string(1'000'000, '[') << std::string(1'000'000, ']');
  expect_refused(dir, {"manifest.json", "nests deeper than 32 levels"});
}

// database-location: only files listed with their SHA-256 (sidecar or manifest) are read.
TEST(Package, DatabaseOverrideIsHashed) {
  TempDir tmp;
  const auto dir = demo(tmp);
  const auto pkg = Package::open(dir);
  const auto& entry = *pkg.manifest().guide_database;
  const std::string other = tmp.file("otherdb");
  const auto database = [&](int64_t n) {
    std::vector<int64_t> shape{n};
    shape.insert(shape.end(), entry.value_shape.begin(), entry.value_shape.end());
    return fiancee::GuideDatabase(torch::rand({n, entry.key_dim}), torch::rand(shape));
  };
  database(4).save(other, entry.prefix);
  const std::string db = other + "/" + entry.prefix + ".safetensors";
  const std::string sidecar = other + "/" + fiancee::GuideDatabase::sidecar_name(entry.prefix);
  EXPECT_EQ(pkg.guide_database(other)->size(), 4);

  std::filesystem::copy_file(db, tmp.file("db.saved"));
  database(5).save(tmp.file("x"), entry.prefix);
  std::filesystem::copy_file(tmp.file("x") + "/" + entry.prefix + ".safetensors", db,
                             std::filesystem::copy_options::overwrite_existing);
  try {
    pkg.guide_database(other);
    ADD_FAILURE() << "tampered database accepted";
  } catch (const PackageError& e) {
    EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(sidecar), std::string::npos) << e.what();
  }

  std::ofstream(sidecar, std::ios::trunc) << "";
  try {
    pkg.guide_database(other);
    ADD_FAILURE() << "unlisted database accepted";
  } catch (const PackageError& e) {
    EXPECT_NE(std::string(e.what()).find("not listed in " + sidecar), std::string::npos) << e.what();
  }

  std::filesystem::remove(sidecar);
  try {
    pkg.guide_database(other);
    ADD_FAILURE() << "database without hashes accepted";
  } catch (const PackageError& e) {
    EXPECT_NE(std::string(e.what()).find("needs its hash list"), std::string::npos) << e.what();
  }
  // A package directory (what fiancee build-db writes) lists the database in its manifest.
  EXPECT_EQ(pkg.guide_database(dir)->size(), pkg.guide_database()->size());
}

// `fiancee inspect` and the elements run one set of start checks (check_pipeline_package).
TEST(Package, StartChecksRefuseWhatTheElementCannotRun) {
  struct Case {
    std::function<void(json&)> edit;
    std::string phrase;
  };
  const std::vector<Case> cases{
      {[](json& j) { j["output"]["width"] = 64; }, "not a warp-refiner package"},
      {[](json& j) { j["input"]["channels"] = 3; }, "takes 3 channels at 32x32"},
      {[](json& j) { j["pipeline"] = "synth"; }, "synthesis runs"},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    const auto dir = demo(tmp);
    auto j = read_manifest(dir);
    c.edit(j);
    write_manifest(dir, j);
    try {
      fiancee::check_pipeline_package(Package::open(dir));
      ADD_FAILURE() << "accepted: " << c.phrase;
    } catch (const PackageError& e) {
      EXPECT_NE(std::string(e.what()).find(c.phrase), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
    }
  }
}
