#include "training/train_task.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/errors.h"

namespace fiancee::training {

namespace fs = std::filesystem;

std::string Work::sf_file(std::string sf) {
  std::replace(sf.begin(), sf.end(), '/', '_');
  return "branches-" + sf + ".safetensors";
}

void Work::save_new() const {
  fs::create_directories(dir);
  const std::string p = path("architecture.json");
  if (fs::exists(p)) {
    const auto prev = open(dir);
    auto a = prev.meta, b = meta;
    a.erase("pipeline"), b.erase("pipeline");  // runs from before the field existed are reenactment runs
    if (prev.pipeline() != pipeline() || a != b)
      throw InputError(dir + ": holds a run with another architecture, data or seed; use a new --work directory");
  }
  std::ofstream(p) << meta.dump(2);
}

Work Work::open(const std::string& dir) {
  if (dir.empty()) throw InputError("--work DIR is required");
  const std::string p = dir + "/architecture.json";
  std::ifstream in(p);
  if (!in) throw InputError(p + ": missing; run `fiancee train-backbone --work " + dir + "` first");
  Work w;
  w.dir = dir;
  try {
    w.meta = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(p + ": not valid JSON (" + e.what() + ")");
  }
  return w;
}

}  // namespace fiancee::training
