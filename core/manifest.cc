#include "core/manifest.h"

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/json_reader.h"

namespace fiancee {

using nlohmann::json;

namespace {

// The deepest real manifest (branch lists in an architecture) nests 5 levels.
constexpr int kMaxJsonDepth = 32;

ImageSpec image(JsonReader r) {
  ImageSpec s;
  s.width = r.integer("width", 1, kMaxSide);
  s.height = r.integer("height", 1, kMaxSide);
  s.channels = r.integer("channels", 1, kMaxChannels);
  const JsonReader range = r.array("range");
  if (range.size() != 2) range.fail("must be [min, max] with min < max");
  s.range_min = range.item(0).as_number();
  s.range_max = range.item(1).as_number();
  if (s.range_min >= s.range_max) range.fail("must be [min, max] with min < max");
  r.finish();
  return s;
}

json image_json(const ImageSpec& s) {
  return {{"width", s.width}, {"height", s.height}, {"channels", s.channels}, {"range", {s.range_min, s.range_max}}};
}

}  // namespace

void Manifest::use_ms_ssim_distance() {
  metric = "1-ms-ssim";
  metric_unit = "1 - MS-SSIM against the backbone output (0 = identical)";
  default_threshold = defaults::kQualityThreshold;
}

const ScaleFactorEntry& Manifest::scale_factor(const std::string& sf) const {
  std::string valid;
  for (const auto& e : scale_factors) {
    if (e.name == sf) return e;
    valid += (valid.empty() ? "" : ", ") + e.name;
  }
  throw InputError("scale factor '" + sf + "' is not in model package '" + name + "' (it has: " + valid + ")");
}

Manifest Manifest::parse(const std::string& text, const std::string& origin) {
  json j;
  try {
    // Manifests nest a few levels; a hostile one is refused at that depth, before it costs memory.
    j = json::parse(text, [&](int depth, json::parse_event_t event, json&) {
      if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) && depth >= kMaxJsonDepth)
        throw PackageError(origin + ": nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      return true;
    });
  } catch (const json::exception& e) {
    throw PackageError(origin + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw PackageError(origin + ": must be a JSON object");
  JsonReader r(j, origin);
  if (r.string("format") != "fiancee-package") r.fail_at("format", "must be \"fiancee-package\"");
  const int version = r.integer("format_version", 1, 1 << 20);
  if (version != kFormatVersion)
    r.fail_at("format_version", "is " + std::to_string(version) + "; this build reads version " + std::to_string(kFormatVersion));

  Manifest m;
  m.name = r.string("name");
  m.description = r.string("description", "");
  m.untrained = r.boolean("untrained");
  m.pipeline = r.choice("pipeline", {"reenact", "synth"});
  // Only the family here: its config reads (and strictly checks) the rest when the graph is built.
  JsonReader arch = r.object("architecture");
  m.family = arch.string("family");
  m.architecture = std::make_shared<const json>(arch.value());
  m.input = image(r.object("input"));
  m.output = image(r.object("output"));
  JsonReader metric = r.object("metric");
  m.metric = metric.string("name");
  m.metric_unit = metric.string("unit");
  m.default_threshold = metric.number("default_threshold");
  if (m.default_threshold < 0 || m.default_threshold > defaults::kMaxQualityThreshold)
    metric.fail_at("default_threshold", "must be in [0, " + json(defaults::kMaxQualityThreshold).dump() +
                                            "] like the element's quality-threshold, found " + json(m.default_threshold).dump());
  metric.finish();
  m.weights = r.string("weights");

  for (auto& [name, s] : scale_factor_list(r, "scale_factors", "name")) {
    ScaleFactorEntry e;
    e.name = name;
    e.weights = s.string("weights");
    e.calibration = s.string("calibration", "");
    const JsonReader g = s.array("route_gflops");
    for (const JsonReader& v : g.items()) {
      e.route_gflops.push_back(v.as_number());
      if (e.route_gflops.back() <= 0) v.fail("must be positive, found " + v.value().dump());
    }
    if (e.route_gflops.size() < 2) g.fail("needs one entry per exit, at least a branch and the backbone");
    if (!m.scale_factors.empty()) {
      const auto& first = m.scale_factors[0];
      if (e.route_gflops.size() != first.route_gflops.size())
        g.fail("has " + std::to_string(e.route_gflops.size()) + " exits but scale factor " + first.name + " has " +
               std::to_string(first.route_gflops.size()));
      if (e.route_gflops.back() != first.route_gflops.back())
        g.fail("gives the backbone a different cost than scale factor " + first.name);
    }
    s.finish();
    m.scale_factors.push_back(std::move(e));
  }
  m.default_scale_factor = r.string("default_scale_factor");
  try {
    m.scale_factor(m.default_scale_factor);
  } catch (const InputError&) {
    r.fail_at("default_scale_factor", "names '" + m.default_scale_factor + "', which is not in scale_factors");
  }

  // Optional: absent and null both mean "no database".
  if (r.has("guide_database")) {
    JsonReader db = r.object("guide_database");
    GuideDatabaseEntry e;
    e.prefix = db.string("prefix");
    e.key_dim = db.integer("key_dim", 1, kMaxChannels);
    for (int d : db.ints("value_shape", 1, kMaxChannels)) e.value_shape.push_back(d);
    e.key_description = db.string("key_description", "");
    db.finish();
    m.guide_database = e;
  }
  if (r.has("torchscript"))
    for (const auto& [role, file] : r.object("torchscript").entries()) m.torchscript[role] = file.as_string();
  for (const auto& [file, hash] : r.object("files").entries()) {
    if (hash.as_string().size() != 64) hash.fail("must be a 64-digit SHA-256 hex string");
    if (file.empty() || file.find("..") != std::string::npos || file[0] == '/') hash.fail("must be a plain file name inside the package");
    m.files[file] = hash.as_string();
  }
  r.finish();
  return m;
}

std::string Manifest::dump() const {
  json j;
  j["format"] = "fiancee-package";
  j["format_version"] = kFormatVersion;
  j["name"] = name;
  j["description"] = description;
  j["untrained"] = untrained;
  j["pipeline"] = pipeline;
  j["architecture"] = architecture ? *architecture : json::object();
  j["architecture"]["family"] = family;
  j["input"] = image_json(input);
  j["output"] = image_json(output);
  j["metric"] = {{"name", metric}, {"unit", metric_unit}, {"default_threshold", default_threshold}};
  j["weights"] = weights;
  j["scale_factors"] = json::array();
  for (const auto& e : scale_factors) {
    j["scale_factors"].push_back({{"name", e.name}, {"weights", e.weights}, {"route_gflops", e.route_gflops}});
    if (!e.calibration.empty()) j["scale_factors"].back()["calibration"] = e.calibration;
  }
  j["default_scale_factor"] = default_scale_factor;
  if (guide_database)
    j["guide_database"] = {{"prefix", guide_database->prefix},
                           {"key_dim", guide_database->key_dim},
                           {"value_shape", guide_database->value_shape},
                           {"key_description", guide_database->key_description}};
  if (!torchscript.empty()) j["torchscript"] = torchscript;
  j["files"] = files;
  return j.dump(2);
}

}  // namespace fiancee
