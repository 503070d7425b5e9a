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

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/exit_graph.h"
#include "core/package.h"

namespace fiancee {

// The manifest's architecture of a TorchScript package, read strictly.
struct TorchScriptConfig {
  int num_stages = 0;
  std::vector<int> attach_points;  // stage after which each branch leaves, in [0, num_stages)
  int key_dim = 0;                 // the predictor's key size; 0 = none

  static TorchScriptConfig from_json(const nlohmann::json& j, const std::string& origin);
};

// Throws PackageError naming the file when a role is missing or a module fails to load.
std::shared_ptr<ExitGraph> load_scripted_graph(const Package& package);

}  // namespace fiancee
