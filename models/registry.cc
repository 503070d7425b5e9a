#include "models/registry.h"

#include <cmath>

#include "core/errors.h"
#include "core/scripted_graph.h"
#include "models/g2d.h"

namespace fiancee::models {

namespace {

std::shared_ptr<G2DGraph> g2d_graph(const Package& package) {
  const auto& m = package.manifest();
  auto graph = std::make_shared<G2DGraph>(G2DConfig::from_json(*m.architecture, package.path("manifest.json")));
  for (const auto& sf : m.scale_factors) {
    const auto names = graph->scale_factors();
    if (std::find(names.begin(), names.end(), sf.name) == names.end())
      throw PackageError(package.path("manifest.json") + ": scale factor " + sf.name + " has no branches in architecture.branches");
  }
  return graph;
}

void check_gflops(const Package& package, const std::string& sf, const std::vector<double>& declared,
                  const std::vector<double>& computed) {
  for (size_t e = 0; e < declared.size(); ++e)
    if (std::abs(declared[e] - computed[e]) > 0.01 * computed[e] + 1e-6)
      throw PackageError(package.path("manifest.json") + ": route_gflops of scale factor " + sf + ", exit " + std::to_string(e) + " is " +
                         std::to_string(declared[e]) + " but the architecture costs " + std::to_string(computed[e]));
}

}  // namespace

std::shared_ptr<ExitGraph> load_graph(const Package& package) {
  const auto& m = package.manifest();
  if (m.family == "torchscript") return load_scripted_graph(package);
  if (m.family != "g2d")
    throw PackageError(package.path("manifest.json") + ": unknown architecture family '" + m.family + "' (known: g2d, torchscript)");
  auto graph = g2d_graph(package);
  if (graph->num_branches() + 1 != m.num_exits())
    throw PackageError(package.path("manifest.json") + ": route_gflops lists " + std::to_string(m.num_exits()) + " exits but the architecture has " +
                       std::to_string(graph->num_branches() + 1));
  graph->load_backbone(package.tensors(m.weights), package.path(m.weights));
  for (const auto& sf : m.scale_factors) {
    check_gflops(package, sf.name, sf.route_gflops, graph->route_gflops(sf.name, m.input.height, m.input.width));
    graph->load_branches(sf.name, package.tensors(sf.weights), package.path(sf.weights));
  }
  return graph;
}

}  // namespace fiancee::models
