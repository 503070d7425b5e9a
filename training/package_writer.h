// Writing a native family's weights into a package directory: the part of
// package creation every pipeline shares (the manifest's other fields are the
// pipeline's own).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/manifest.h"
#include "models/branched_graph.h"

namespace fiancee::training {

// Route GFLOPs of one scale factor, backbone last.
using RouteCosts = std::function<std::vector<double>(const std::string& scale_factor)>;

// Saves backbone.safetensors and branches-<sf>.safetensors per scale factor
// into dir and fills manifest.weights, manifest.scale_factors (with `costs`) and
// manifest.default_scale_factor (`default_sf`, or the last scale factor when empty).
void write_graph_weights(const std::string& dir, const models::BranchedGraph& graph, Manifest& manifest, const RouteCosts& costs,
                         const std::string& default_sf = "");

// Creates dir, or throws InputError when it holds files and overwrite is false.
void prepare_package_dir(const std::string& dir, bool overwrite);

}  // namespace fiancee::training
