// The architecture families a package can name, in one table: how each is
// loaded and built, which pipelines run it, and what the synthesis pipeline
// needs to feed it. Callers ask the table; nothing outside models/ compares
// family names.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/exit_graph.h"
#include "core/package.h"
#include "models/branched_graph.h"

namespace fiancee::models {

// For code that already works with one family's own types (training builds
// CPU-sized OASIS and ASAP-Net configs); everything else goes by the table.
enum class FamilyId { G2D, Oasis, Asap, Creps, TorchScript };

// A synthesis family's label-map input, from its architecture.
struct SynthShape {
  int num_classes = 0;
  int z_dim = 0;  // noise size; 0 = the family takes no noise
};

struct Family {
  FamilyId id;
  std::string name;   // the manifest's architecture.family
  std::string title;  // for messages: "OASIS", "ASAP-Net"
  bool reenact = false;         // the reenactment pipeline can run it (image in)
  bool patch_database = false;  // queries the guide database per patch itself (OasisGraph)

  // The graph with the package's weights: PackageError naming the file when the
  // weights do not fit or the manifest's route GFLOPs disagree with it.
  std::shared_ptr<ExitGraph> (*load)(const Package& package) = nullptr;
  // A randomly initialised graph of the architecture (training); null for TorchScript.
  std::unique_ptr<BranchedGraph> (*build)(const nlohmann::json& architecture, const std::string& origin) = nullptr;
  // Size of the key the predictor reads beside the front features (0 = none).
  int (*key_dim)(const nlohmann::json& architecture, const std::string& origin) = nullptr;

  // Synthesis from label maps; both null for families the synth pipeline cannot run.
  SynthShape (*synth_shape)(const nlohmann::json& architecture, const std::string& origin) = nullptr;
  // labels [N,H,W] int64 in [0, num_classes), z [N or 1, z_dim] (unused without noise) -> backbone input.
  torch::Tensor (*synth_input)(const torch::Tensor& labels, const torch::Tensor& z, int num_classes) = nullptr;
  bool synth() const { return synth_input != nullptr; }
};

// Every registered family, in the order messages list them.
const std::vector<Family>& families();
// The family registered as `name`, or null.
const Family* find_family(const std::string& name);
// As find_family; PackageError "<origin>: unknown architecture family ... (known: ...)" otherwise.
const Family& family(const std::string& name, const std::string& origin);
// The entry of a family by code (see FamilyId).
const Family& family(FamilyId id);
// "oasis, asap": the families the synthesis pipeline runs, for messages.
std::string synth_family_names();

// The package's family's loader (see Family::load); PackageError for unknown families.
std::shared_ptr<ExitGraph> load_graph(const Package& package);

}  // namespace fiancee::models
