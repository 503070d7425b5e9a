#include "models/registry.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/errors.h"
#include "core/scripted_graph.h"
#include "models/asap.h"
#include "models/creps.h"
#include "models/g2d.h"
#include "models/oasis.h"

namespace fiancee::models {

namespace {

void check_gflops(const Package& package, const std::string& sf, const std::vector<double>& declared,
                  const std::vector<double>& computed) {
  for (size_t e = 0; e < declared.size(); ++e)
    if (std::abs(declared[e] - computed[e]) > 0.01 * computed[e] + 1e-6)
      throw PackageError(package.path("manifest.json") + ": route_gflops of scale factor " + sf + ", exit " + std::to_string(e) + " is " +
                         std::to_string(declared[e]) + " but the architecture costs " + std::to_string(computed[e]));
}

// Every native family offers the same construction and loading calls. Costs
// are a function of the input size, except for CREPS, whose routes cost what
// the output size asks for (it renders any size from one latent).
template <typename Graph, typename Config>
std::shared_ptr<ExitGraph> load_family(const Package& package) {
  const auto& m = package.manifest();
  const std::string origin = package.path("manifest.json");
  auto graph = std::make_shared<Graph>(Config::from_json(*m.architecture, origin));
  const ImageSpec& size = std::is_same_v<Graph, CrepsGraph> ? m.output : m.input;
  if constexpr (std::is_same_v<Graph, CrepsGraph>) graph->set_output_size(m.output.height, m.output.width);
  if (graph->num_branches() + 1 != m.num_exits())
    throw PackageError(origin + ": route_gflops lists " + std::to_string(m.num_exits()) + " exits but the architecture has " +
                       std::to_string(graph->num_branches() + 1));
  const auto names = graph->scale_factors();
  graph->load_backbone(package.tensors(m.weights), package.path(m.weights));
  for (const auto& sf : m.scale_factors) {
    if (std::find(names.begin(), names.end(), sf.name) == names.end())
      throw PackageError(origin + ": scale factor " + sf.name + " has no branches in architecture.branches");
    check_gflops(package, sf.name, sf.route_gflops, graph->route_gflops(sf.name, size.height, size.width));
    graph->load_branches(sf.name, package.tensors(sf.weights), package.path(sf.weights));
  }
  return graph;
}

}  // namespace

std::shared_ptr<ExitGraph> load_graph(const Package& package) {
  const auto& family = package.manifest().family;
  if (family == "torchscript") return load_scripted_graph(package);
  if (family == "g2d") return load_family<G2DGraph, G2DConfig>(package);
  if (family == "oasis") return load_family<OasisGraph, OasisConfig>(package);
  if (family == "asap") return load_family<AsapGraph, AsapConfig>(package);
  if (family == "creps") return load_family<CrepsGraph, CrepsConfig>(package);
  throw PackageError(package.path("manifest.json") + ": unknown architecture family '" + family +
                     "' (known: g2d, oasis, asap, creps, torchscript)");
}

}  // namespace fiancee::models
