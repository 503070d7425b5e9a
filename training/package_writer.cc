#include "training/package_writer.h"

#include <algorithm>
#include <filesystem>

#include "core/errors.h"
#include "core/safetensors.h"

namespace fiancee::training {

void write_graph_weights(const std::string& dir, const models::BranchedGraph& graph, Manifest& m, const RouteCosts& costs,
                         const std::string& default_sf) {
  m.weights = "backbone.safetensors";
  safetensors::save(dir + "/" + m.weights, graph.backbone_state(), {{"role", "backbone"}});
  m.scale_factors.clear();
  for (const auto& sf : graph.scale_factors()) {
    std::string file = "branches-" + sf + ".safetensors";
    std::replace(file.begin(), file.end(), '/', '_');
    safetensors::save(dir + "/" + file, graph.branch_state(sf), {{"role", "branches"}, {"scale_factor", sf}});
    m.scale_factors.push_back({sf, file, costs(sf), ""});
  }
  if (m.scale_factors.empty()) throw InputError(dir + ": the graph has no scale factors to write");
  m.default_scale_factor = default_sf.empty() ? m.scale_factors.back().name : default_sf;
}

void prepare_package_dir(const std::string& dir, bool overwrite) {
  namespace fs = std::filesystem;
  if (!overwrite && fs::exists(dir) && !fs::is_empty(dir)) throw InputError(dir + ": exists and is not empty; refusing to overwrite");
  fs::create_directories(dir);
}

}  // namespace fiancee::training
