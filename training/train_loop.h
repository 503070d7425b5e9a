// The training loop every `fiancee train-*` command shares: fixed seed,
// resumable checkpoints, a progress line on stderr and a CSV of the losses.
// What a step does is the caller's; the loop owns bookkeeping only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace fiancee {

struct TrainLoopOptions {
  std::string name;                 // shown in progress and file names, e.g. "train-backbone"
  std::string checkpoint_dir;       // <dir>/<name>.ckpt.* ; resumed from when present
  int steps = 1000;                 // total steps (a resumed run continues to this count)
  int checkpoint_every = 100;
  int log_every = 10;
  unsigned long long seed = 1;
  bool quiet = false;               // no progress line (tests)
};

// Losses of one step by name; "total" is what was optimised.
using StepLosses = std::map<std::string, double>;

class TrainLoop {
 public:
  // modules and optimizers are saved in checkpoints and restored on resume.
  TrainLoop(TrainLoopOptions options, std::vector<std::pair<std::string, torch::nn::Module*>> modules,
            std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers);

  // Runs step(i) for i = first unfinished step .. steps-1. Returns the losses of every step run.
  std::vector<StepLosses> run(const std::function<StepLosses(int step)>& step);

 private:
  void save(int next_step) const;
  int load();

  TrainLoopOptions options_;
  std::vector<std::pair<std::string, torch::nn::Module*>> modules_;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers_;
  int resumed_from_ = 0;
};

}  // namespace fiancee
