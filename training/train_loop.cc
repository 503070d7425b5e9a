#include "training/train_loop.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/errors.h"
#include "core/safetensors.h"

namespace fiancee {

namespace fs = std::filesystem;

namespace {

std::string prefix(const TrainLoopOptions& o) { return o.checkpoint_dir + "/" + o.name; }

}  // namespace

TrainLoop::TrainLoop(TrainLoopOptions options, std::vector<std::pair<std::string, torch::nn::Module*>> modules,
                     std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers)
    : options_(std::move(options)), modules_(std::move(modules)), optimizers_(std::move(optimizers)) {
  if (options_.checkpoint_dir.empty()) throw InputError(options_.name + ": a checkpoint directory is required");
  fs::create_directories(options_.checkpoint_dir);
}

// Weights go to safetensors like packages; optimizer moments use LibTorch's
// own archive (checkpoints are internal, never shipped).
void TrainLoop::save(int next_step) const {
  safetensors::TensorMap tensors;
  for (const auto& [name, module] : modules_) {
    for (const auto& p : module->named_parameters()) tensors[name + "/" + p.key()] = p.value().detach().cpu();
    for (const auto& b : module->named_buffers()) tensors[name + "/" + b.key()] = b.value().detach().cpu();
  }
  safetensors::save(prefix(options_) + ".ckpt.safetensors", tensors, {{"next_step", std::to_string(next_step)}});
  for (const auto& [name, opt] : optimizers_) torch::save(*opt, prefix(options_) + ".ckpt." + name + ".pt");
}

int TrainLoop::load() {
  const std::string path = prefix(options_) + ".ckpt.safetensors";
  if (!fs::exists(path)) return 0;
  safetensors::Metadata meta;
  const auto tensors = safetensors::load(path, &meta);
  torch::NoGradGuard no_grad;
  for (const auto& [name, module] : modules_) {
    auto copy = [&](const std::string& key, torch::Tensor t) {
      auto it = tensors.find(name + "/" + key);
      if (it == tensors.end() || it->second.sizes() != t.sizes())
        throw PackageError(path + ": checkpoint does not match the model being trained (tensor '" + name + "/" + key +
                           "'); delete it to start over");
      t.copy_(it->second);
    };
    for (auto& p : module->named_parameters()) copy(p.key(), p.value());
    for (auto& b : module->named_buffers()) copy(b.key(), b.value());
  }
  for (const auto& [name, opt] : optimizers_) {
    const std::string opt_path = prefix(options_) + ".ckpt." + name + ".pt";
    if (fs::exists(opt_path)) torch::load(*opt, opt_path);
  }
  auto it = meta.find("next_step");
  return it == meta.end() ? 0 : std::stoi(it->second);
}

std::vector<StepLosses> TrainLoop::run(const std::function<StepLosses(int)>& step) {
  resumed_from_ = load();
  if (resumed_from_ > 0 && !options_.quiet)
    std::fprintf(stderr, "%s: resuming at step %d of %d\n", options_.name.c_str(), resumed_from_, options_.steps);
  const std::string csv_path = prefix(options_) + ".losses.csv";
  const bool new_csv = resumed_from_ == 0 || !fs::exists(csv_path);
  std::ofstream csv(csv_path, new_csv ? std::ios::trunc : std::ios::app);
  std::vector<std::string> columns;
  std::vector<StepLosses> history;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = resumed_from_; i < options_.steps; ++i) {
    // A per-step seed keeps a resumed run on the same sample sequence.
    torch::manual_seed(options_.seed * 1000003ULL + static_cast<unsigned long long>(i));
    auto losses = step(i);
    for (const auto& [k, v] : losses)
      if (!std::isfinite(v)) throw Error(options_.name + ": loss '" + k + "' became " + std::to_string(v) + " at step " + std::to_string(i));
    if (columns.empty()) {
      for (const auto& [k, v] : losses) columns.push_back(k);
      if (new_csv) {
        csv << "step";
        for (const auto& c : columns) csv << "," << c;
        csv << "\n";
      }
    }
    csv << i;
    for (const auto& c : columns) csv << "," << losses[c];
    csv << "\n";
    history.push_back(losses);
    const bool last = i + 1 == options_.steps;
    if ((i + 1) % options_.checkpoint_every == 0 || last) save(i + 1);
    if (!options_.quiet && ((i + 1) % options_.log_every == 0 || last)) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const int done = i + 1 - resumed_from_, left = options_.steps - i - 1;
      std::fprintf(stderr, "\r%s: step %d/%d  total %.4f  %.2f s/step  eta %.0f s   ", options_.name.c_str(), i + 1,
                   options_.steps, losses["total"], s / done, s / done * left);
      if (last) std::fprintf(stderr, "\n");
    }
  }
  csv.flush();
  return history;
}

}  // namespace fiancee
