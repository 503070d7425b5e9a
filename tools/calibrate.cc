// `fiancee calibrate`: renders held-out frames that neither training nor
// `fiancee eval` uses through every exit of every scale factor and stores each
// exit's predicted and measured quality in the package (core/calibration.h),
// so the element's target-miss-rate can route with a conformal margin.
// train-predictor runs it on the package it writes.
//
// Calibration frames: reenactment, pairs of the validation identities from
// frame index kFirstFrame on (eval reads frames 0.. of either split);
// synthesis, held-out scenes from index kFirstFrame on (procedural), or the
// last frames of a finite val folder.
#include <torch/torch.h>

#include <cstdio>

#include "core/calibration.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/package.h"
#include "datasets/reenact_data.h"
#include "datasets/street_scenes.h"
#include "models/registry.h"
#include "tools/commands.h"
#include "tools/eval_report.h"
#include "training/train_task.h"

namespace fiancee::tools {

namespace {

constexpr uint64_t kFirstFrame = 1u << 20;

std::string file_name(std::string sf) {
  for (char& c : sf)
    if (c == '/') c = '_';
  return "calibration-" + sf + ".safetensors";
}

}  // namespace

void calibrate_package(const std::string& dir, int frames, const std::string& data, uint64_t seed) {
  if (frames < 1) throw InputError("calibration needs at least 1 frame");
  const auto pkg = Package::open(dir);
  Manifest m = pkg.manifest();
  const auto graph = models::load_graph(pkg);
  graph->eval();
  const auto db = pkg.guide_database();
  const auto metric = make_ms_ssim_distance();
  // Each chunk's backbone input and key, and what the frames are.
  std::function<std::pair<torch::Tensor, torch::Tensor>(int, int)> chunk;
  std::string split;
  std::unique_ptr<synth::SceneSource> scenes;
  std::unique_ptr<reenact::ProceduralHeads> heads;
  uint64_t first = kFirstFrame;
  if (m.pipeline == "reenact") {
    heads = std::make_unique<reenact::ProceduralHeads>(m.input.width, reenact::kHeldOutIdentities, seed, reenact::kValidationIdentities);
    split = "procedural validation identities, seed " + std::to_string(seed) + ", pairs " + std::to_string(first) + "..";
    chunk = [&](int start, int k) {
      const auto b = reenact::make_batch(heads->pairs(k, first + uint64_t(start)), 0.f, first + uint64_t(start));
      return std::make_pair(b.input, b.key);
    };
  } else {
    scenes = training::scene_source(data, m.output.height, m.output.width, seed, /*held_out=*/true);
    if (scenes->size() > 0) {
      if (scenes->size() < 2 * frames)
        throw InputError(data + ": " + std::to_string(scenes->size()) + " val scenes; calibrating on " + std::to_string(frames) +
                         " of them needs at least twice as many, so eval can use the others");
      first = uint64_t(scenes->size() - frames);
    }
    split = "held-out " + data + " scenes, seed " + std::to_string(seed) + ", from " + std::to_string(first) +
            (scenes->size() > 0 ? " (eval: use --frames <= " + std::to_string(first) + ")" : "");
    chunk = [&](int start, int k) {
      const auto b = synth::scene_batch(*scenes, first + uint64_t(start), k);
      return std::make_pair(synth_eval_inputs(pkg, b.labels, first + uint64_t(start), kSeenNoises), torch::Tensor());
    };
  }
  for (auto& sf : m.scale_factors) {
    Calibration cal;
    cal.split = split;
    for (int start = 0; start < frames; start += 8) {
      const int k = std::min(8, frames - start);
      const auto [input, key] = chunk(start, k);
      const auto rows = render_exits(*graph, sf.name, input, key, db.get(), *metric);
      for (int64_t i = 0; i < k; ++i) {
        const auto p = rows.predicted[i].contiguous(), q = rows.measured[i].contiguous();
        cal.predicted.emplace_back(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
        cal.measured.emplace_back(q.data_ptr<double>(), q.data_ptr<double>() + q.numel());
      }
      std::fprintf(stderr, "\rcalibrate: scale factor %s, %d/%d frames", sf.name.c_str(), start + k, frames);
    }
    std::fprintf(stderr, "\n");
    sf.calibration = file_name(sf.name);
    cal.save(pkg.path(sf.calibration));
  }
  Package::write(pkg.dir(), m);
  std::fprintf(stderr, "calibrate: %s now holds %d calibration frames per scale factor (%s)\n", pkg.dir().c_str(), frames, split.c_str());
}

int calibrate(const Options& args) {
  if (args.positional.size() != 1) throw InputError("calibrate takes one package directory");
  calibrate_package(args.positional[0], args.integer("--frames", 400), args.get("--data", "procedural"),
                    static_cast<uint64_t>(args.integer("--seed", 1)));
  return 0;
}

}  // namespace fiancee::tools
