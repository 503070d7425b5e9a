// "Bring your own backbone": an early-exit graph whose pieces are TorchScript
// modules exported by the user (torch.jit.script / trace + save). The
// manifest's architecture is {"family": "torchscript", "num_stages": S,
// "attach_points": [...]}, and its `torchscript` map names one file per role:
//   front                  forward(input) -> features
//   stage1 .. stageS       forward(x) -> x
//   head                   forward(x) -> image
//   branch.<sf>.<b>        forward(x, guide) -> image   (guide [N,0] without a database)
//   predictor.<sf>         forward(features, key) -> [N, branches]  (key [N,0] when none)
// Route GFLOPs cannot be derived from TorchScript, so the manifest's are trusted.
#pragma once

#include <memory>
#include <string>

#include "core/exit_graph.h"
#include "core/package.h"

namespace fiancee {

// Throws PackageError naming the file when a role is missing or a module fails to load.
std::shared_ptr<ExitGraph> load_scripted_graph(const Package& package);

}  // namespace fiancee
