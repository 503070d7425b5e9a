// Semantic-synthesis model packages: the CPU-sized OASIS and ASAP-Net
// configurations they use, the OASIS patch guide database, writing a package
// from a graph (training tools) and a small random-weights package (the
// tests' fixture; its manifest says "untrained": true).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/defaults.h"
#include "models/asap.h"
#include "models/oasis.h"
#include "models/registry.h"

namespace fiancee {

class GuideDatabase;

namespace synth {

// The registry's family `name` when the synthesis pipeline runs it; InputError
// naming `what` (an option or a file) and listing those families otherwise.
const models::Family& synth_family(const std::string& name, const std::string& what);

// OASIS at height x width (divisible by 32) with widths from `base`
// (channels base,base,base,3/4,1/2,3/8,1/4 of it, as the paper's 1024..64 taper
// but shallower), Table S8's attach points (front and blocks 1-3), branches
// scaled per factor; guide = block-3 features (the paper's value layer).
models::OasisConfig oasis_config(int num_classes, int height, int width, int base, bool guide,
                                 const std::vector<std::string>& scale_factors);
// ASAP-Net for the same maps: grid S = 16, 4 low-res stages, branches after 1-3.
models::AsapConfig asap_config(int num_classes, int base, const std::vector<std::string>& scale_factors);

// The patch guide database of OASIS for scenes `labels` [N,H,W] with noise z
// [1 or N, z_dim]: one entry per front-feature cell (OasisGraph::guide_entries),
// farthest-point sampled to at most per_class entries per semantic class.
// Values are stored in half precision.
GuideDatabase build_patch_database(models::OasisGraph& graph, const torch::Tensor& labels, const torch::Tensor& z, int per_class);

struct PackageInfo {
  std::string name;
  std::string description;
  bool untrained = false;
  double default_threshold = defaults::kQualityThreshold;
};

// Writes an OASIS or ASAP-Net package for height x width label maps into dir
// (created; must be empty or absent unless overwrite). db: the OASIS patch
// database, or null.
void write_package(const std::string& dir, const models::BranchedGraph& graph, int height, int width, const PackageInfo& info,
                   const GuideDatabase* db, bool overwrite = false);

struct DemoPackageOptions {
  std::string family = "oasis";  // a synthesis family: synth_family() checks it
  int height = 32;
  int width = 64;
  uint64_t seed = 1;
  bool with_database = true;     // OASIS only
};

// Random-weights package over procedural street scenes (tests, examples).
void write_demo_package(const std::string& dir, const DemoPackageOptions& options = {});

}  // namespace synth
}  // namespace fiancee
