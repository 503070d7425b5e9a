#include "core/manifest.h"

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/scale_factor.h"

namespace fiancee {

using nlohmann::json;

namespace {

// Field access that names the manifest and the JSON path on every failure.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw PackageError(origin_ + ": field '" + path + "' " + what);
  }

  const json& get(const json& obj, const std::string& path, const char* key, json::value_t type) const {
    if (!obj.is_object() || !obj.contains(key)) fail(path + key, "is missing");
    const json& v = obj.at(key);
    const bool ok = type == json::value_t::number_float ? v.is_number() : v.type() == type ||
                    (type == json::value_t::number_integer && v.is_number_unsigned());
    if (!ok) fail(path + key, std::string("must be ") + type_name(type) + ", found " + v.type_name());
    return v;
  }
  std::string str(const json& o, const std::string& p, const char* k) const {
    return get(o, p, k, json::value_t::string).get<std::string>();
  }
  double num(const json& o, const std::string& p, const char* k) const {
    return get(o, p, k, json::value_t::number_float).get<double>();
  }
  int integer(const json& o, const std::string& p, const char* k, int lo, int hi) const {
    const auto v = get(o, p, k, json::value_t::number_integer).get<int64_t>();
    if (v < lo || v > hi) fail(p + k, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], found " + std::to_string(v));
    return static_cast<int>(v);
  }

  ImageSpec image(const json& o, const char* k) const {
    const json& v = get(o, "", k, json::value_t::object);
    const std::string p = std::string(k) + ".";
    ImageSpec s;
    s.width = integer(v, p, "width", 1, 1 << 14);
    s.height = integer(v, p, "height", 1, 1 << 14);
    s.channels = integer(v, p, "channels", 1, 1 << 16);
    const json& r = get(v, p, "range", json::value_t::array);
    if (r.size() != 2 || !r[0].is_number() || !r[1].is_number() || r[0].get<double>() >= r[1].get<double>())
      fail(p + "range", "must be [min, max] with min < max");
    s.range_min = r[0].get<double>();
    s.range_max = r[1].get<double>();
    return s;
  }

 private:
  static const char* type_name(json::value_t t) {
    switch (t) {
      case json::value_t::string: return "a string";
      case json::value_t::object: return "an object";
      case json::value_t::array: return "an array";
      case json::value_t::boolean: return "a boolean";
      case json::value_t::number_integer: return "an integer";
      default: return "a number";
    }
  }
  std::string origin_;
};

json image_json(const ImageSpec& s) {
  return {{"width", s.width}, {"height", s.height}, {"channels", s.channels}, {"range", {s.range_min, s.range_max}}};
}

}  // namespace

void Manifest::use_ms_ssim_distance() {
  metric = "1-ms-ssim";
  metric_unit = "1 - MS-SSIM against the backbone output (0 = identical)";
  default_threshold = 0.1;
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
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw PackageError(origin + ": not valid JSON (" + e.what() + ")");
  }
  Reader r(origin);
  if (!j.is_object()) throw PackageError(origin + ": must be a JSON object");
  if (r.str(j, "", "format") != "fiancee-package") r.fail("format", "must be \"fiancee-package\"");
  const int version = r.integer(j, "", "format_version", 1, 1 << 20);
  if (version != kFormatVersion)
    r.fail("format_version", "is " + std::to_string(version) + "; this build reads version " + std::to_string(kFormatVersion));

  Manifest m;
  m.name = r.str(j, "", "name");
  m.description = j.value("description", "");
  m.untrained = r.get(j, "", "untrained", json::value_t::boolean).get<bool>();
  m.pipeline = r.str(j, "", "pipeline");
  if (m.pipeline != "reenact" && m.pipeline != "synth") r.fail("pipeline", "must be \"reenact\" or \"synth\", found \"" + m.pipeline + "\"");
  const json& arch = r.get(j, "", "architecture", json::value_t::object);
  m.family = r.str(arch, "architecture.", "family");
  m.architecture = std::make_shared<const json>(arch);
  m.input = r.image(j, "input");
  m.output = r.image(j, "output");
  const json& metric = r.get(j, "", "metric", json::value_t::object);
  m.metric = r.str(metric, "metric.", "name");
  m.metric_unit = r.str(metric, "metric.", "unit");
  m.default_threshold = r.num(metric, "metric.", "default_threshold");
  m.weights = r.str(j, "", "weights");

  const json& sfs = r.get(j, "", "scale_factors", json::value_t::array);
  if (sfs.empty()) r.fail("scale_factors", "is empty: a package needs at least one set of exits");
  for (size_t i = 0; i < sfs.size(); ++i) {
    const std::string p = "scale_factors[" + std::to_string(i) + "].";
    ScaleFactorEntry e;
    e.name = r.str(sfs[i], p, "name");
    try {
      ScaleFactor::parse(e.name);
    } catch (const InputError& err) {
      r.fail(p + "name", err.what());
    }
    e.weights = r.str(sfs[i], p, "weights");
    const json& g = r.get(sfs[i], p, "route_gflops", json::value_t::array);
    for (const auto& v : g) {
      if (!v.is_number() || v.get<double>() <= 0) r.fail(p + "route_gflops", "must hold positive numbers");
      e.route_gflops.push_back(v.get<double>());
    }
    if (e.route_gflops.size() < 2) r.fail(p + "route_gflops", "needs one entry per exit, at least a branch and the backbone");
    if (!m.scale_factors.empty()) {
      const auto& first = m.scale_factors[0];
      if (e.route_gflops.size() != first.route_gflops.size())
        r.fail(p + "route_gflops", "has " + std::to_string(e.route_gflops.size()) + " exits but scale factor " + first.name + " has " +
                                       std::to_string(first.route_gflops.size()));
      if (e.route_gflops.back() != first.route_gflops.back())
        r.fail(p + "route_gflops", "gives the backbone a different cost than scale factor " + first.name);
    }
    for (const auto& prev : m.scale_factors)
      if (prev.name == e.name) r.fail(p + "name", "repeats scale factor " + e.name);
    m.scale_factors.push_back(std::move(e));
  }
  m.default_scale_factor = r.str(j, "", "default_scale_factor");
  try {
    m.scale_factor(m.default_scale_factor);
  } catch (const InputError&) {
    r.fail("default_scale_factor", "names '" + m.default_scale_factor + "', which is not in scale_factors");
  }

  if (j.contains("guide_database") && !j["guide_database"].is_null()) {
    const json& db = r.get(j, "", "guide_database", json::value_t::object);
    GuideDatabaseEntry e;
    e.prefix = r.str(db, "guide_database.", "prefix");
    e.key_dim = r.integer(db, "guide_database.", "key_dim", 1, 1 << 20);
    for (const auto& v : r.get(db, "guide_database.", "value_shape", json::value_t::array)) {
      if (!v.is_number_integer() || v.get<int64_t>() <= 0) r.fail("guide_database.value_shape", "must hold positive integers");
      e.value_shape.push_back(v.get<int64_t>());
    }
    e.key_description = db.value("key_description", "");
    m.guide_database = e;
  }
  if (j.contains("torchscript")) {
    for (const auto& [role, file] : r.get(j, "", "torchscript", json::value_t::object).items()) {
      if (!file.is_string()) r.fail("torchscript." + role, "must be a file name");
      m.torchscript[role] = file.get<std::string>();
    }
  }
  for (const auto& [file, hash] : r.get(j, "", "files", json::value_t::object).items()) {
    if (!hash.is_string() || hash.get<std::string>().size() != 64) r.fail("files." + file, "must be a 64-digit SHA-256 hex string");
    if (file.empty() || file.find("..") != std::string::npos || file[0] == '/') r.fail("files." + file, "must be a plain file name inside the package");
    m.files[file] = hash.get<std::string>();
  }
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
  for (const auto& e : scale_factors)
    j["scale_factors"].push_back({{"name", e.name}, {"weights", e.weights}, {"route_gflops", e.route_gflops}});
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
