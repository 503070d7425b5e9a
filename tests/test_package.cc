#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "core/safetensors.h"
#include "models/registry.h"
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
  expect_refused(dir, {"manifest.json", "cannot open"});
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
  std::ifstream in(dir + "/manifest.json");
  std::stringstream text;
  text << in.rdbuf();
  fiancee::Package::write(dir, fiancee::Manifest::parse(text.str(), "manifest.json"));
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
