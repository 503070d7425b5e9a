// Builds the early-exit graph a package describes, with its weights loaded.
#pragma once

#include <memory>

#include "core/exit_graph.h"
#include "core/package.h"

namespace fiancee::models {

// Throws PackageError naming the file when the architecture is unknown, the
// weights do not fit it, or the manifest's route GFLOPs disagree with it.
std::shared_ptr<ExitGraph> load_graph(const Package& package);

}  // namespace fiancee::models
