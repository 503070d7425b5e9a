// The strict JSON reader shared by the manifest and every architecture config:
// one message format, field paths, ranges, and no unknown fields anywhere.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "core/errors.h"
#include "core/json_reader.h"
#include "core/manifest.h"
#include "models/asap.h"
#include "models/creps.h"
#include "models/g2d.h"
#include "models/oasis.h"
#include "tests/fixtures.h"

using fiancee::JsonReader;
using fiancee::testing::error_of;
using nlohmann::json;

namespace {

const json kDoc = json::parse(R"({
  "name": "demo", "width": 16, "ratio": 0.5, "flag": true, "widths": [4, 8, 16],
  "sub": {"grid": [[1, 2], [3, "x"]], "inner": {"depth": 2}}
})");

std::string read_error(const std::function<void(JsonReader&)>& read) {
  return error_of([&] {
    JsonReader r(kDoc, "m.json", "architecture");
    read(r);
  });
}

fiancee::Manifest small_manifest() {
  fiancee::Manifest m;
  m.name = "demo";
  m.pipeline = "synth";
  m.family = "asap";
  m.architecture = std::make_shared<const json>(fiancee::models::AsapConfig::tiny().to_json());
  m.input = {32, 32, 6, 0, 1};
  m.output = {32, 32, 3, -1, 1};
  m.use_ms_ssim_distance();
  m.weights = "backbone.safetensors";
  m.scale_factors.push_back({"1/2", "branches.safetensors", {1.0, 2.0, 3.0, 4.0}, ""});
  m.default_scale_factor = "1/2";
  m.files["backbone.safetensors"] = std::string(64, 'a');
  return m;
}

}  // namespace

TEST(JsonReader, ReadsEveryType) {
  JsonReader r(kDoc, "m.json", "architecture");
  EXPECT_EQ(r.string("name"), "demo");
  EXPECT_EQ(r.integer("width", 1, 16), 16);
  EXPECT_DOUBLE_EQ(r.number("ratio"), 0.5);
  EXPECT_TRUE(r.boolean("flag"));
  EXPECT_EQ(r.ints("widths", 1, 16), (std::vector<int>{4, 8, 16}));
  JsonReader sub = r.object("sub");
  EXPECT_EQ(sub.array("grid").item(1).item(0).as_integer(0, 9), 3);
  EXPECT_EQ(sub.object("inner").integer("depth", 0, 9), 2);
  EXPECT_EQ(r.string("absent", "fallback"), "fallback");
  EXPECT_FALSE(r.has("also_absent"));
  EXPECT_NO_THROW(r.finish());  // every field was read; the absent ones do not count
}

TEST(JsonReader, MissingField) {
  EXPECT_EQ(read_error([](auto& r) { r.integer("height", 1, 16); }), "m.json: field 'architecture.height' is missing");
}

TEST(JsonReader, WrongType) {
  EXPECT_EQ(read_error([](auto& r) { r.integer("name", 1, 16); }), "m.json: field 'architecture.name' must be an integer, found a string");
  EXPECT_EQ(read_error([](auto& r) { r.string("width"); }), "m.json: field 'architecture.width' must be a string, found an integer");
  EXPECT_EQ(read_error([](auto& r) { r.boolean("ratio"); }), "m.json: field 'architecture.ratio' must be a boolean, found a number");
  EXPECT_EQ(read_error([](auto& r) { r.object("widths"); }), "m.json: field 'architecture.widths' must be an object, found an array");
  EXPECT_EQ(read_error([](auto& r) { r.ints("sub", 0, 9); }), "m.json: field 'architecture.sub' must be an array, found an object");
  EXPECT_EQ(read_error([](auto& r) { r.number("flag"); }), "m.json: field 'architecture.flag' must be a number, found a boolean");
}

TEST(JsonReader, IntegerOutOfRangeGivesTheRange) {
  EXPECT_EQ(read_error([](auto& r) { r.integer("width", 1, 8); }), "m.json: field 'architecture.width' must be in [1, 8], found 16");
  EXPECT_EQ(read_error([](auto& r) { r.ints("widths", 5, 16); }), "m.json: field 'architecture.widths[0]' must be in [5, 16], found 4");
  // Beyond int64: still a range error, not a wrapped value.
  const json huge = {{"n", std::numeric_limits<uint64_t>::max()}, {"m", -5}};
  EXPECT_EQ(error_of([&] { JsonReader(huge, "m.json").integer("n", 0, 9); }),
            "m.json: field 'n' must be in [0, 9], found 18446744073709551615");
  EXPECT_EQ(error_of([&] { JsonReader(huge, "m.json").integer("m", 0, 9); }), "m.json: field 'm' must be in [0, 9], found -5");
}

TEST(JsonReader, NonIntegerNumberIsNoInteger) {
  EXPECT_EQ(read_error([](auto& r) { r.integer("ratio", 0, 9); }), "m.json: field 'architecture.ratio' must be an integer, found 0.5");
  const json whole = json::parse(R"({"n": 3.0})");
  EXPECT_EQ(error_of([&] { JsonReader(whole, "m.json").integer("n", 0, 9); }), "m.json: field 'n' must be an integer, found 3.0");
}

TEST(JsonReader, NonFiniteNumbersAreRefused) {
  const json j = {{"nan", std::nan("")}, {"inf", std::numeric_limits<double>::infinity()}};
  EXPECT_EQ(error_of([&] { JsonReader(j, "m.json").number("nan"); }), "m.json: field 'nan' must be a finite number, found nan");
  EXPECT_EQ(error_of([&] { JsonReader(j, "m.json").number("inf"); }), "m.json: field 'inf' must be a finite number, found inf");
}

TEST(JsonReader, UnknownFieldNamesItsFullPath) {
  EXPECT_EQ(read_error([](auto& r) {
              r.string("name");
              r.finish();
            }),
            "m.json: field 'architecture.flag' is not a known field");  // the first unread one, in key order
  EXPECT_EQ(read_error([](auto& r) {
              JsonReader inner = r.object("sub").object("inner");
              inner.finish();
            }),
            "m.json: field 'architecture.sub.inner.depth' is not a known field");
}

TEST(JsonReader, NestedPathsInMessages) {
  EXPECT_EQ(read_error([](auto& r) { r.object("sub").array("grid").item(1).item(1).as_integer(0, 9); }),
            "m.json: field 'architecture.sub.grid[1][1]' must be an integer, found a string");
  EXPECT_EQ(read_error([](auto& r) { r.object("sub").array("grid").item(2); }),
            "m.json: field 'architecture.sub.grid' has 2 entries, needs at least 3");
  // A map's keys join the path like fields: "branches.1/4[2]".
  const json map = json::parse(R"({"branches": {"1/4": [[1], [2], ["x"]]}})");
  EXPECT_EQ(error_of([&] {
              JsonReader r(map, "m.json", "architecture");
              for (const auto& [sf, set] : r.object("branches").entries()) set.item(2).as_ints(1, 9);
            }),
            "m.json: field 'architecture.branches.1/4[2][0]' must be an integer, found a string");
}

TEST(JsonReader, OptionalFieldsAndChoices) {
  const json j = json::parse(R"({"gone": null, "text": 3, "mode": "fast"})");
  JsonReader r(j, "m.json");
  EXPECT_FALSE(r.has("gone"));  // null means absent
  EXPECT_EQ(r.string("gone", "d"), "d");
  EXPECT_EQ(error_of([&] { JsonReader(j, "m.json").string("text", "d"); }), "m.json: field 'text' must be a string, found an integer");
  EXPECT_EQ(error_of([&] { JsonReader(j, "m.json").choice("mode", {"slow", "steady", "careful"}); }),
            "m.json: field 'mode' must be \"slow\", \"steady\" or \"careful\", found \"fast\"");
  EXPECT_EQ(r.choice("mode", {"slow", "fast"}), "fast");
}

TEST(JsonReader, ScaleFactorListsAndMaps) {
  const json j = json::parse(R"({
    "list": [{"sf": "1/2", "n": 1}, {"sf": "1/4", "n": 2}], "twice": [{"sf": "1/2"}, {"sf": "1/2"}], "wrong": [{"sf": "2/1"}],
    "map": {"1/8": [], "1/3": []}, "bad_map": {"1/2": [], "half": []}, "none": []
  })");
  const auto read = [&](const std::function<void(JsonReader&)>& f) {
    return error_of([&] {
      JsonReader r(j, "m.json", "architecture");
      f(r);
    });
  };
  JsonReader r(j, "m.json", "architecture");
  const auto list = fiancee::scale_factor_list(r, "list", "sf");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].first, "1/4");  // file order
  JsonReader second = list[1].second;
  EXPECT_EQ(second.integer("n", 0, 9), 2);
  EXPECT_NO_THROW(second.finish());  // the name counts as read
  const auto map = fiancee::scale_factor_map(r, "map");
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map[0].first, "1/3");  // key order
  EXPECT_EQ(read([](auto& r) { fiancee::scale_factor_list(r, "twice", "sf"); }),
            "m.json: field 'architecture.twice[1].sf' repeats scale factor 1/2");
  EXPECT_EQ(read([](auto& r) { fiancee::scale_factor_list(r, "wrong", "sf"); }),
            "m.json: field 'architecture.wrong[0].sf' scale factor '2/1' is not a fraction like \"1/8\" in (0, 1]");
  EXPECT_EQ(read([](auto& r) { fiancee::scale_factor_list(r, "none", "sf"); }),
            "m.json: field 'architecture.none' must hold at least one scale factor");
  EXPECT_EQ(read([](auto& r) { fiancee::scale_factor_map(r, "bad_map"); }),
            "m.json: field 'architecture.bad_map.half' scale factor 'half' is not a fraction like \"1/8\" in (0, 1]");
  EXPECT_EQ(read([](auto& r) { r.array("none").items(2, "one per attach point"); }),
            "m.json: field 'architecture.none' must hold 2 entries (one per attach point), found 0");
}

TEST(JsonReader, ManifestIsStrictAndRoundTrips) {
  const auto m = small_manifest();
  const auto back = fiancee::Manifest::parse(m.dump(), "pkg/manifest.json");
  EXPECT_EQ(back.dump(), m.dump());
  auto j = json::parse(m.dump());
  const auto refused = [](const json& text) {
    return error_of([&] { fiancee::Manifest::parse(text.dump(), "pkg/manifest.json"); });
  };
  auto bad = j;
  bad["licence"] = "mit";
  EXPECT_EQ(refused(bad), "pkg/manifest.json: field 'licence' is not a known field");
  bad = j;
  bad["scale_factors"][0]["cost"] = 1;
  EXPECT_EQ(refused(bad), "pkg/manifest.json: field 'scale_factors[0].cost' is not a known field");
  bad = j;
  bad["input"]["width"] = 0;
  EXPECT_EQ(refused(bad), "pkg/manifest.json: field 'input.width' must be in [1, 16384], found 0");
  bad = j;
  bad["scale_factors"][0]["route_gflops"][1] = -2.0;
  EXPECT_EQ(refused(bad), "pkg/manifest.json: field 'scale_factors[0].route_gflops[1]' must be positive, found -2.0");
  // Optional fields: description, a null database, a database without key_description.
  auto ok = j;
  ok.erase("description");
  ok["guide_database"] = nullptr;
  EXPECT_FALSE(fiancee::Manifest::parse(ok.dump(), "m.json").guide_database.has_value());
  ok["guide_database"] = {{"prefix", "guide"}, {"key_dim", 13}, {"value_shape", {3, 8, 8}}};
  EXPECT_EQ(fiancee::Manifest::parse(ok.dump(), "m.json").guide_database->key_dim, 13);
  ok["guide_database"]["key_dim"] = -1;
  EXPECT_EQ(refused(ok), "pkg/manifest.json: field 'guide_database.key_dim' must be in [1, 65536], found -1");
}

// Every family's config, written by to_json and then broken one field at a time.
TEST(JsonReader, EveryFamilyRefusesUnknownFieldsAndNegativeWidths) {
  using namespace fiancee::models;
  struct Family {
    std::string name;
    json good;
    std::function<void(const json&)> read;
    std::function<void(json&)> negative_width;
    std::string negative_path;
  };
  const std::vector<Family> families = {
      {"asap", AsapConfig::tiny().to_json(), [](const json& j) { AsapConfig::from_json(j, "pkg/manifest.json"); },
       [](json& j) { j["num_classes"] = -5; }, "architecture.num_classes' must be in [1, 65536], found -5"},
      {"creps", CrepsConfig::tiny().to_json(), [](const json& j) { CrepsConfig::from_json(j, "pkg/manifest.json"); },
       [](json& j) { j["block_channels"][1] = -16; }, "architecture.block_channels[1]' must be in [1, 65536], found -16"},
      {"g2d", G2DConfig::paper({"1/15"}, false).to_json(), [](const json& j) { G2DConfig::from_json(j, "pkg/manifest.json"); },
       [](json& j) { j["stages"][0][1] = -512; }, "architecture.stages[0][1]' must be in [1, 65536], found -512"},
      {"oasis", OasisConfig::scaled(16, 32, 64, {"1/2"}, true).to_json(),
       [](const json& j) { OasisConfig::from_json(j, "pkg/manifest.json"); }, [](json& j) { j["channels"][2] = -64; },
       "architecture.channels[2]' must be in [1, 65536], found -64"}};
  for (const auto& f : families) {
    EXPECT_EQ(error_of([&] { f.read(f.good); }), "(no PackageError)") << f.name;
    auto j = f.good;
    j["widht"] = 3;
    EXPECT_EQ(error_of([&] { f.read(j); }), "pkg/manifest.json: field 'architecture.widht' is not a known field") << f.name;
    j = f.good;
    f.negative_width(j);
    EXPECT_EQ(error_of([&] { f.read(j); }), "pkg/manifest.json: field '" + f.negative_path) << f.name;
    j = f.good;
    j["family"] = "torchscript";
    EXPECT_NE(error_of([&] { f.read(j); }).find("pkg/manifest.json: field 'architecture.family' must be \"" + f.name + "\""),
              std::string::npos)
        << f.name;
  }
  // Nested objects are strict too.
  auto asap = AsapConfig::tiny().to_json();
  asap["branches"][0]["exits"][1]["adaptor"] = 8;
  EXPECT_EQ(error_of([&] { AsapConfig::from_json(asap, "pkg/manifest.json"); }),
            "pkg/manifest.json: field 'architecture.branches[0].exits[1].adaptor' is not a known field");
  // Map keys must be scale factors, for the families that key branches by them.
  auto g2d = G2DConfig::paper({"1/15"}, false).to_json();
  g2d["branches"]["all"] = g2d["branches"]["1/15"];
  EXPECT_NE(error_of([&] { G2DConfig::from_json(g2d, "pkg/manifest.json"); }).find("field 'architecture.branches.all' scale factor 'all'"),
            std::string::npos);
}
