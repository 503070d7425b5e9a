// `fiancee eval` for synthesis packages: the threshold sweep on held-out
// scenes (tools/eval_report.h), with and without the patch database, the
// predictor's error on the training noises and on new ones (Tables S3-S4),
// and with --compare, two backbones (ASAP-Net vs OASIS) timed and measured
// against the ground-truth images in one run.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/package.h"
#include "models/registry.h"
#include "datasets/street_scenes.h"
#include "pipelines/synth_inputs.h"
#include "tools/eval_report.h"
#include "training/train_task.h"

namespace fiancee::tools {

using namespace fiancee::training;

namespace {

constexpr uint64_t kNewNoiseBase = 100000;  // seeds no training run uses

const models::Family& family(const Package& pkg) { return models::family(pkg.manifest().family, pkg.path("manifest.json")); }

// The package's class count and noise size; InputError for families synthesis cannot run.
models::SynthShape shape(const Package& pkg) {
  const auto& f = family(pkg);
  if (!f.synth())
    throw InputError(pkg.dir() + ": eval for synthesis runs " + models::synth_family_names() + " packages, not '" + f.name + "'");
  return f.synth_shape(*pkg.manifest().architecture, pkg.path("manifest.json"));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct BackboneRun {
  double quality = 0;  // mean 1 - MS-SSIM to the ground truth
  std::vector<double> ms;
};

// Both packages' backbones on the same scenes, interleaved frame by frame so
// machine load affects both alike.
void compare(const Package& a, const Package& b, const synth::SceneBatch& scenes, const std::string& out_dir) {
  const Package* pkgs[2] = {&a, &b};
  std::shared_ptr<ExitGraph> graphs[2] = {models::load_graph(a), models::load_graph(b)};
  BackboneRun runs[2];
  const auto metric = make_ms_ssim_distance();
  torch::NoGradGuard no_grad;
  const int64_t n = scenes.labels.size(0);
  for (int p = 0; p < 2; ++p) graphs[p]->eval();
  for (int64_t i = -2; i < n; ++i) {  // two warm-up frames
    const int64_t row = std::max<int64_t>(i, 0);
    for (int p = 0; p < 2; ++p) {
      auto input = synth_eval_inputs(*pkgs[p], scenes.labels.narrow(0, row, 1), 0, kSeenNoises);
      const auto t0 = std::chrono::steady_clock::now();
      auto x = graphs[p]->front(input);
      for (int s = 1; s <= graphs[p]->num_stages(); ++s) x = graphs[p]->stage(s, x);
      auto image = graphs[p]->head(x);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (i < 0) continue;
      runs[p].ms.push_back(ms);
      runs[p].quality += metric->distance(image, scenes.images.narrow(0, row, 1)).item<double>() / static_cast<double>(n);
    }
  }
  std::ofstream csv(out_dir + "/compare.csv");
  csv << "package,family,backbone_gflops,median_ms,quality_vs_ground_truth\n";
  std::printf("\nbackbones on the same %lld held-out scenes, one run, batch 1 (quality: 1 - MS-SSIM to the ground-truth image)\n",
              static_cast<long long>(n));
  std::printf("%-34s %-6s %12s %10s %10s\n", "package", "family", "GFLOPs", "median ms", "quality");
  for (int p = 0; p < 2; ++p) {
    const auto& m = pkgs[p]->manifest();
    const double g = m.scale_factors[0].route_gflops.back();
    std::printf("%-34s %-6s %12.4f %10.2f %10.4f\n", pkgs[p]->dir().c_str(), m.family.c_str(), g, median(runs[p].ms), runs[p].quality);
    csv << pkgs[p]->dir() << "," << m.family << "," << g << "," << median(runs[p].ms) << "," << runs[p].quality << "\n";
  }
  std::printf("time ratio %s / %s = %.2f (GFLOPs ratio %.2f)\n", b.manifest().family.c_str(), a.manifest().family.c_str(),
              median(runs[1].ms) / median(runs[0].ms),
              b.manifest().scale_factors[0].route_gflops.back() / a.manifest().scale_factors[0].route_gflops.back());
}

}  // namespace

torch::Tensor synth_eval_inputs(const Package& pkg, const torch::Tensor& labels, uint64_t base, uint64_t modulo) {
  const auto s = shape(pkg);
  std::vector<torch::Tensor> noise;
  for (int64_t i = 0; i < labels.size(0); ++i) noise.push_back(synth::noise_for_seed((base + static_cast<uint64_t>(i)) % modulo, s.z_dim));
  return synth::backbone_input(family(pkg), labels, torch::cat(noise), s.num_classes);
}

int eval_synth(const Package& pkg, const Options& args) {
  const auto& m = pkg.manifest();
  const int n = args.integer("--frames", 120);
  if (n < 1) throw InputError("--frames must be at least 1");
  auto c = EvalContext::open(pkg, args);
  c.setup.split = "held-out " + args.get("--data", "procedural") + " scenes";
  const std::string& out_dir = c.setup.out_dir;

  const auto source = scene_source(args.get("--data", "procedural"), m.output.height, m.output.width,
                                   static_cast<uint64_t>(args.integer("--seed", 1)), /*held_out=*/true);
  const auto scenes = synth::scene_batch(*source, 0, n);
  std::vector<ExitRows> seen, fresh;
  const int chunk = 8;
  for (int start = 0; start < n; start += chunk) {
    const int k = std::min(chunk, n - start);
    auto labels = scenes.labels.narrow(0, start, k);
    seen.push_back(render_exits(*c.graph, c.setup.scale_factor, synth_eval_inputs(pkg, labels, start, kSeenNoises), {}, c.db.get(), *c.metric, c.dtype));
    seen.back().images = torch::Tensor();  // the sweep needs qualities only
    if (shape(pkg).z_dim > 0) {
      fresh.push_back(render_exits(*c.graph, c.setup.scale_factor, synth_eval_inputs(pkg, labels, kNewNoiseBase + start, UINT64_MAX), {}, nullptr, *c.metric, c.dtype));
      fresh.back().images = torch::Tensor();
    }
    std::fprintf(stderr, "\reval: %d/%d scenes", start + k, n);
  }
  std::fprintf(stderr, "\n");
  std::printf("%s (%s), held-out %s scenes; OASIS noise: the training seeds 0-%llu\n", pkg.dir().c_str(), m.family.c_str(),
              args.get("--data", "procedural").c_str(), static_cast<unsigned long long>(kSeenNoises - 1));
  const auto f = EvalFrames::stack(seen);
  report_sweep(f, c.setup);

  if (!fresh.empty()) {
    const auto seen_err = predictor_error(f), new_err = predictor_error(EvalFrames::stack(fresh));
    std::ofstream csv(out_dir + "/predictor_noise.csv");
    csv << "exit,mae_seen_noises,mae_new_noises,bias_seen_noises,bias_new_noises\n";
    std::printf("\npredictor error on seen vs new noises (Tables S3-S4 style; %s)\n%5s %12s %12s\n", m.metric.c_str(), "exit", "MAE seen", "MAE new");
    for (size_t e = 0; e < seen_err.size(); ++e) {
      std::printf("%5zu %12.4f %12.4f\n", e, seen_err[e].first, new_err[e].first);
      csv << e << "," << seen_err[e].first << "," << new_err[e].first << "," << seen_err[e].second << "," << new_err[e].second << "\n";
    }
  }
  if (args.has("--compare")) {
    const auto other = Package::open(args.get("--compare", ""));
    if (other.manifest().pipeline != "synth" || other.manifest().output.height != m.output.height ||
        other.manifest().output.width != m.output.width)
      throw InputError(other.dir() + ": --compare needs a synth package of the same output size");
    compare(pkg, other, synth::scene_batch(*source, 0, std::min(n, args.integer("--compare-frames", 40))), out_dir);
  }
  return 0;
}

}  // namespace fiancee::tools
