// Strict, typed reading of JSON for the package manifest and every
// architecture config. A reader knows the file its value came from and the
// value's field path in it ("architecture.branches.1/4[2]",
// "scale_factors[0].route_gflops"), and every failure is one PackageError:
//   <origin>: field '<path>' <problem>
// Object readers remember which fields were read, so finish() can refuse the
// rest: a misspelt or stale field is an error, never silently ignored.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fiancee {

// Inclusive upper ends shared by every reader, so that one kind of field has
// one range everywhere. Lower ends are per field: 1 where zero makes no model,
// 0 where zero means "none".
inline constexpr int kMaxChannels = 1 << 16;  // widths, class counts, key and guide sizes
inline constexpr int kMaxDepth = 1 << 10;     // stages, blocks, layers, attach points
inline constexpr int kMaxSide = 1 << 14;      // image sides, grid sides, resampling factors

class JsonReader {
 public:
  // `value` must outlive the reader and every reader made from it. `path` is
  // "" for a whole document, whose fields are then named bare ("metric.name").
  JsonReader(const nlohmann::json& value, std::string origin, std::string path = "");

  const nlohmann::json& value() const { return *value_; }
  const std::string& origin() const { return origin_; }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const std::string& problem) const;
  [[noreturn]] void fail_at(const std::string& key, const std::string& problem) const;

  // This value as one type.
  std::string as_string() const;
  double as_number() const;  // finite
  int as_integer(int lo, int hi) const;
  bool as_bool() const;
  std::vector<int> as_ints(int lo, int hi) const;

  // This value as an array.
  size_t size() const;
  JsonReader item(size_t i) const;
  std::vector<JsonReader> items() const;
  // Exactly `count` entries; `why` says what fixes the count ("one per attach point").
  std::vector<JsonReader> items(size_t count, const std::string& why) const;

  // This value as an object. Each call marks `key` as read. Required fields
  // must be present and not null; an optional one that is absent or null
  // gives `fallback` (or false from has()).
  bool has(const std::string& key);
  JsonReader field(const std::string& key);
  JsonReader object(const std::string& key);
  JsonReader array(const std::string& key);
  std::string string(const std::string& key);
  std::string string(const std::string& key, const std::string& fallback);
  double number(const std::string& key);
  int integer(const std::string& key, int lo, int hi);
  bool boolean(const std::string& key);
  std::vector<int> ints(const std::string& key, int lo, int hi);
  // A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::vector<std::string>& allowed);
  // An object used as a map (file -> hash, scale factor -> branches): every
  // key is read, in the object's (sorted) order.
  std::vector<std::pair<std::string, JsonReader>> entries();
  // Throws "is not a known field" for the first field no call above read.
  void finish() const;

 private:
  std::string child(const std::string& key) const;
  const nlohmann::json& require_object() const;
  const nlohmann::json& require_array() const;

  const nlohmann::json* value_;
  std::string origin_;
  std::string path_;
  std::set<std::string> read_;
};

// Per-scale-factor entries, as the manifest and the architectures lay them
// out, as (name, entry) pairs. Both refuse an empty set and a name that is
// not a scale factor like "1/4".
// parent[key] as an array of objects that name their scale factor in
// `name_key`, in file order, no name twice; the entries have read `name_key`.
std::vector<std::pair<std::string, JsonReader>> scale_factor_list(JsonReader& parent, const std::string& key,
                                                                  const std::string& name_key);
// parent[key] as an object keyed by scale factor, in key order.
std::vector<std::pair<std::string, JsonReader>> scale_factor_map(JsonReader& parent, const std::string& key);

}  // namespace fiancee
