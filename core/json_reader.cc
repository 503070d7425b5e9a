#include "core/json_reader.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/errors.h"
#include "core/scale_factor.h"

namespace fiancee {

using nlohmann::json;

namespace {

// What a value is, for "must be X, found Y".
std::string kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_float: return "a number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    default: return "binary data";
  }
}

// `where` holds the name, or is the entry of a map keyed by it.
void require_scale_factor(const JsonReader& where, const std::string& name) {
  try {
    ScaleFactor::parse(name);
  } catch (const InputError& e) {
    where.fail(e.what());
  }
}

// The one message format. Only a whole document has an empty path.
PackageError field_error(const std::string& origin, const std::string& path, const std::string& problem) {
  return PackageError(path.empty() ? origin + ": " + problem : origin + ": field '" + path + "' " + problem);
}

}  // namespace

JsonReader::JsonReader(const json& value, std::string origin, std::string path)
    : value_(&value), origin_(std::move(origin)), path_(std::move(path)) {}

void JsonReader::fail(const std::string& problem) const { throw field_error(origin_, path_, problem); }

void JsonReader::fail_at(const std::string& key, const std::string& problem) const { throw field_error(origin_, child(key), problem); }

std::string JsonReader::child(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

const json& JsonReader::require_object() const {
  if (!value_->is_object()) fail("must be an object, found " + kind(*value_));
  return *value_;
}

const json& JsonReader::require_array() const {
  if (!value_->is_array()) fail("must be an array, found " + kind(*value_));
  return *value_;
}

std::string JsonReader::as_string() const {
  if (!value_->is_string()) fail("must be a string, found " + kind(*value_));
  return value_->get<std::string>();
}

double JsonReader::as_number() const {
  if (!value_->is_number()) fail("must be a number, found " + kind(*value_));
  const double v = value_->get<double>();
  // Parsed text holds neither NaN nor inf, but JSON built in code can.
  if (!std::isfinite(v)) fail("must be a finite number, found " + std::to_string(v));
  return v;
}

int JsonReader::as_integer(int lo, int hi) const {
  const json& v = *value_;
  if (v.is_number_float()) fail("must be an integer, found " + v.dump());
  if (!v.is_number()) fail("must be an integer, found " + kind(v));
  // Above INT64_MAX only an unsigned value fits; it is out of any int range anyway.
  const bool huge = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const int64_t n = huge ? std::numeric_limits<int64_t>::max() : v.get<int64_t>();
  if (huge || n < lo || n > hi) fail("must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], found " + v.dump());
  return static_cast<int>(n);
}

bool JsonReader::as_bool() const {
  if (!value_->is_boolean()) fail("must be a boolean, found " + kind(*value_));
  return value_->get<bool>();
}

std::vector<int> JsonReader::as_ints(int lo, int hi) const {
  std::vector<int> out;
  for (const auto& e : items()) out.push_back(e.as_integer(lo, hi));
  return out;
}

size_t JsonReader::size() const { return require_array().size(); }

JsonReader JsonReader::item(size_t i) const {
  const json& a = require_array();
  if (i >= a.size()) fail("has " + std::to_string(a.size()) + " entries, needs at least " + std::to_string(i + 1));
  return JsonReader(a[i], origin_, path_ + "[" + std::to_string(i) + "]");
}

std::vector<JsonReader> JsonReader::items() const {
  std::vector<JsonReader> out;
  for (size_t i = 0; i < size(); ++i) out.push_back(item(i));
  return out;
}

std::vector<JsonReader> JsonReader::items(size_t count, const std::string& why) const {
  if (size() != count) fail("must hold " + std::to_string(count) + " entries (" + why + "), found " + std::to_string(size()));
  return items();
}

bool JsonReader::has(const std::string& key) {
  const json& o = require_object();
  read_.insert(key);
  const auto it = o.find(key);
  return it != o.end() && !it->is_null();
}

JsonReader JsonReader::field(const std::string& key) {
  const json& o = require_object();
  read_.insert(key);
  const auto it = o.find(key);
  if (it == o.end()) fail_at(key, "is missing");
  return JsonReader(*it, origin_, child(key));
}

JsonReader JsonReader::object(const std::string& key) {
  JsonReader r = field(key);
  r.require_object();
  return r;
}

JsonReader JsonReader::array(const std::string& key) {
  JsonReader r = field(key);
  r.require_array();
  return r;
}

std::string JsonReader::string(const std::string& key) { return field(key).as_string(); }

std::string JsonReader::string(const std::string& key, const std::string& fallback) {
  return has(key) ? field(key).as_string() : fallback;
}

double JsonReader::number(const std::string& key) { return field(key).as_number(); }

int JsonReader::integer(const std::string& key, int lo, int hi) { return field(key).as_integer(lo, hi); }

bool JsonReader::boolean(const std::string& key) { return field(key).as_bool(); }

std::vector<int> JsonReader::ints(const std::string& key, int lo, int hi) { return array(key).as_ints(lo, hi); }

std::string JsonReader::choice(const std::string& key, const std::vector<std::string>& allowed) {
  const JsonReader r = field(key);
  const std::string v = r.as_string();
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (allowed[i] == v) return v;
    list += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + ("\"" + allowed[i] + "\"");
  }
  r.fail("must be " + list + ", found \"" + v + "\"");
}

std::vector<std::pair<std::string, JsonReader>> JsonReader::entries() {
  std::vector<std::pair<std::string, JsonReader>> out;
  for (const auto& [key, v] : require_object().items()) {
    read_.insert(key);
    out.emplace_back(key, JsonReader(v, origin_, child(key)));
  }
  return out;
}

void JsonReader::finish() const {
  for (const auto& [key, v] : require_object().items())
    if (!read_.count(key)) fail_at(key, "is not a known field");
}

std::vector<std::pair<std::string, JsonReader>> scale_factor_list(JsonReader& parent, const std::string& key,
                                                                  const std::string& name_key) {
  const JsonReader list = parent.array(key);
  if (list.size() == 0) list.fail("must hold at least one scale factor");
  std::vector<std::pair<std::string, JsonReader>> out;
  for (JsonReader entry : list.items()) {
    const JsonReader name = entry.field(name_key);
    const std::string sf = name.as_string();
    require_scale_factor(name, sf);
    for (const auto& [seen, unused] : out)
      if (seen == sf) name.fail("repeats scale factor " + sf);
    out.emplace_back(sf, std::move(entry));
  }
  return out;
}

std::vector<std::pair<std::string, JsonReader>> scale_factor_map(JsonReader& parent, const std::string& key) {
  JsonReader map = parent.object(key);
  auto out = map.entries();
  if (out.empty()) map.fail("must hold at least one scale factor");
  for (const auto& [sf, set] : out) require_scale_factor(set, sf);
  return out;
}

}  // namespace fiancee
