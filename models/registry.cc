#include "models/registry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include "core/errors.h"
#include "models/torchscript.h"
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

template <typename Graph, typename Config>
std::unique_ptr<BranchedGraph> build_family(const nlohmann::json& architecture, const std::string& origin) {
  return std::make_unique<Graph>(Config::from_json(architecture, origin));
}

template <typename Config>
int config_key_dim(const nlohmann::json& architecture, const std::string& origin) {
  return Config::from_json(architecture, origin).key_dim;
}

template <typename Graph, typename Config>
Family native(FamilyId id, std::string name, std::string title) {
  Family f;
  f.id = id;
  f.name = std::move(name);
  f.title = std::move(title);
  f.load = load_family<Graph, Config>;
  f.build = build_family<Graph, Config>;
  return f;
}

std::vector<Family> make_table() {
  auto g2d = native<G2DGraph, G2DConfig>(FamilyId::G2D, "g2d", "G2D");
  g2d.reenact = true;
  g2d.key_dim = config_key_dim<G2DConfig>;

  auto oasis = native<OasisGraph, OasisConfig>(FamilyId::Oasis, "oasis", "OASIS");
  oasis.patch_database = true;
  oasis.key_dim = [](const nlohmann::json&, const std::string&) { return 0; };  // the graph makes its own database queries
  oasis.synth_shape = [](const nlohmann::json& architecture, const std::string& origin) {
    const auto c = OasisConfig::from_json(architecture, origin);
    return SynthShape{c.num_classes, c.z_dim};
  };
  oasis.synth_input = [](const torch::Tensor& labels, const torch::Tensor& z, int num_classes) {
    return oasis_input(labels, z.expand({labels.size(0), z.size(1)}), num_classes);
  };

  auto asap = native<AsapGraph, AsapConfig>(FamilyId::Asap, "asap", "ASAP-Net");
  asap.key_dim = config_key_dim<AsapConfig>;
  asap.synth_shape = [](const nlohmann::json& architecture, const std::string& origin) {
    return SynthShape{AsapConfig::from_json(architecture, origin).num_classes, 0};
  };
  asap.synth_input = [](const torch::Tensor& labels, const torch::Tensor&, int num_classes) {
    return torch::one_hot(labels, num_classes).permute({0, 3, 1, 2}).to(torch::kFloat);
  };

  auto creps = native<CrepsGraph, CrepsConfig>(FamilyId::Creps, "creps", "CREPS");
  creps.key_dim = config_key_dim<CrepsConfig>;

  Family scripted;
  scripted.id = FamilyId::TorchScript;
  scripted.name = "torchscript";
  scripted.title = "TorchScript";
  scripted.reenact = true;
  scripted.load = load_scripted_graph;
  // The user's predictor takes the key size the architecture declares (0 = none).
  scripted.key_dim = config_key_dim<TorchScriptConfig>;

  return {g2d, oasis, asap, creps, scripted};
}

std::string names_of(bool (*keep)(const Family&)) {
  std::string list;
  for (const auto& f : families())
    if (keep(f)) list += (list.empty() ? "" : ", ") + f.name;
  return list;
}

}  // namespace

const std::vector<Family>& families() {
  static const std::vector<Family> table = make_table();
  return table;
}

const Family* find_family(const std::string& name) {
  for (const auto& f : families())
    if (f.name == name) return &f;
  return nullptr;
}

const Family& family(const std::string& name, const std::string& origin) {
  if (const auto* f = find_family(name)) return *f;
  throw PackageError(origin + ": unknown architecture family '" + name + "' (known: " +
                     names_of([](const Family&) { return true; }) + ")");
}

const Family& family(FamilyId id) {
  for (const auto& f : families())
    if (f.id == id) return f;
  throw Error("architecture family code " + std::to_string(static_cast<int>(id)) + " is not registered");
}

std::string synth_family_names() {
  return names_of([](const Family& f) { return f.synth(); });
}

std::shared_ptr<ExitGraph> load_graph(const Package& package) {
  return family(package.manifest().family, package.path("manifest.json")).load(package);
}

}  // namespace fiancee::models
