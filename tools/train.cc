// `fiancee train-backbone | train-branches | train-predictor`, one
// implementation for every pipeline: what differs (graph, data, guides,
// package) comes from the pipeline's TrainTask (training/train_task.h). All three
// share training/train_loop (seed, resumable checkpoints, progress, loss CSV) and
// training/losses.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/engine.h"
#include "core/errors.h"
#include "core/guide_db.h"
#include "training/losses.h"
#include "core/metrics.h"
#include "core/package.h"
#include "core/safetensors.h"
#include "training/train_loop.h"
#include "models/oasis.h"
#include "tools/commands.h"
#include "tools/eval_report.h"
#include "training/train_task.h"

namespace fiancee::tools {

using namespace fiancee::training;

namespace fs = std::filesystem;

namespace {

std::unique_ptr<TrainTask> make_task(const Work& w, const Options& args) {
  if (w.pipeline() == "reenact") return make_reenact_task(w, args);
  if (w.pipeline() == "synth") return make_synth_task(w, args);
  throw InputError(w.path("architecture.json") + ": unknown pipeline '" + w.pipeline() + "'");
}

TrainLoopOptions loop_options(const Options& args, const Work& w, std::string name, int default_steps) {
  std::replace(name.begin(), name.end(), '/', '_');
  TrainLoopOptions o;
  o.name = name;
  o.checkpoint_dir = w.path("checkpoints");
  o.steps = args.integer("--steps", default_steps);
  o.checkpoint_every = args.integer("--checkpoint-every", 50);
  o.log_every = args.integer("--log-every", 5);
  o.seed = w.seed();
  o.quiet = args.has("--quiet");
  return o;
}

// --fixed-batch: every step sees the first step's batch (tests: the loss must fall).
uint64_t batch_index(const Options& args, int step) { return args.has("--fixed-batch") ? 0 : static_cast<uint64_t>(step); }

// The backbone route with gradients: front, every stage, head.
torch::Tensor backbone_forward(ExitGraph& g, const torch::Tensor& input, std::vector<torch::Tensor>* levels = nullptr) {
  auto x = g.front(input);
  if (levels) levels->push_back(x);
  for (int k = 1; k <= g.num_stages(); ++k) {
    x = g.stage(k, x);
    if (levels) levels->push_back(x);
  }
  return g.finish(g.head(x), input);
}

// The branches' guide: the batch's own, or what the graph's database query finds.
torch::Tensor branch_guide(TrainTask& task, const TrainBatch& b, const torch::Tensor& front_out) {
  if (b.guide.defined() || !task.guide_database()) return b.guide;
  return lookup_guide(task.graph(), *task.guide_database(), front_out, b.key);
}

std::vector<torch::Tensor> patch_outputs(const std::vector<models::DiscriminatorScale>& scales, bool features) {
  std::vector<torch::Tensor> out;
  for (const auto& s : scales) {
    if (features)
      out.insert(out.end(), s.features.begin(), s.features.end());
    else
      out.push_back(s.output);
  }
  return out;
}

// --init PACKAGE: start from a trained package of the same architecture. The
// networks are fully convolutional, so its resolution may differ: a 128x128
// model fine-tuned at 256x256 starts from what it learnt (docs/training.md).
// A resumed run's checkpoint replaces these weights.
void init_from_package(TrainTask& task, const Work& w, const Options& args, bool branches) {
  const std::string dir = args.get("--init", "");
  if (dir.empty()) return;
  const auto pkg = Package::open(dir);
  const auto& m = pkg.manifest();
  if (!m.architecture || *m.architecture != w.meta.at("architecture"))
    throw InputError("--init " + dir + ": its architecture differs from this run's (" + w.path("architecture.json") +
                     "); give the same --channels and --scale-factors");
  auto& g = task.graph();
  if (!branches) {
    g.load_backbone(safetensors::load(pkg.dir() + "/" + m.weights), pkg.dir() + "/" + m.weights);
  } else {
    for (const auto& sf : m.scale_factors) g.load_branches(sf.name, safetensors::load(pkg.dir() + "/" + sf.weights), pkg.dir() + "/" + sf.weights);
  }
  std::fprintf(stderr, "%s: starting from the %s of %s\n", branches ? "train-branches" : "train-backbone",
               branches ? "branches and predictors" : "backbone", dir.c_str());
}

void load_backbone(TrainTask& task, const Work& w) {
  task.graph().load_backbone(safetensors::load(w.path("backbone.safetensors")), w.path("backbone.safetensors"));
}

}  // namespace

int train_backbone(const Options& args) {
  const std::string dir = args.get("--work", "");
  if (dir.empty()) throw InputError("train-backbone needs --work DIR");
  const std::string pipeline = args.get("--pipeline", "reenact");
  Work w = pipeline == "synth" ? create_synth_work(args) : pipeline == "reenact" ? create_reenact_work(args)
                                                         : throw InputError("--pipeline must be reenact or synth, not '" + pipeline + "'");
  w.dir = dir;
  if (!args.get("--init", "").empty()) w.meta["init"] = std::filesystem::absolute(args.get("--init", "")).lexically_normal().string();
  w.save_new();
  torch::manual_seed(w.seed());
  auto task = make_task(w, args);
  init_from_package(*task, w, args, false);
  auto& graph = task->graph();
  auto& module = graph.backbone_module();
  module.train();
  torch::optim::Adam opt(module.parameters(), torch::optim::AdamOptions(std::stod(args.get("--lr", "2e-4"))).betas({0.5, 0.999}));
  const int batch = args.integer("--batch", 8);
  TrainLoop loop(loop_options(args, w, "train-backbone", 600), {{"backbone", &module}}, {{"adam", &opt}});
  loop.run([&](int step) {
    auto b = task->sample(batch, batch_index(args, step), Stream::Backbone);
    auto out = backbone_forward(graph, b.input);
    auto l1 = losses::l1(out, b.target, b.loss_weight), ssim = losses::ms_ssim(out, b.target);
    auto total = l1 + ssim;
    opt.zero_grad();
    total.backward();
    opt.step();
    return StepLosses{{"total", total.item<double>()}, {"l1", l1.item<double>()}, {"ms_ssim", ssim.item<double>()}};
  });
  safetensors::save(w.path("backbone.safetensors"), graph.backbone_state());
  std::fprintf(stderr, "train-backbone: wrote %s\n", w.path("backbone.safetensors").c_str());
  return 0;
}

// Distillation to the backbone's output (FIANCEE Eq. 4 without the VGG and gaze
// terms, which need pretrained networks): L1 + MS-SSIM + hinge adversarial loss
// against one discriminator per branch ("copies") + feature matching.
int train_branches(const Options& args) {
  auto w = Work::open(args.get("--work", ""));
  auto task = make_task(w, args);
  auto& graph = task->graph();
  load_backbone(*task, w);
  init_from_package(*task, w, args, true);
  graph.backbone_module().eval();
  task->prepare_guides(args);
  const double adv_weight = std::stod(args.get("--adversarial-weight", "0.05"));
  const int batch = args.integer("--batch", 8);
  for (const auto& sf : graph.scale_factors()) {
    auto& branches = graph.branch_module(sf);
    branches.train();
    std::vector<std::unique_ptr<models::OasisDiscriminator>> discs;
    std::vector<std::pair<std::string, torch::nn::Module*>> modules{{"branches", &branches}};
    std::vector<torch::Tensor> d_params;
    for (int b = 0; b < graph.num_branches(); ++b) {
      models::OasisDiscriminatorConfig dc;
      dc.label_channels = task->condition_channels();
      dc.base_channels = 32;
      dc.layers = 3;
      discs.push_back(std::make_unique<models::OasisDiscriminator>(dc));
      modules.emplace_back("disc" + std::to_string(b), &discs.back()->module());
      for (auto& p : discs.back()->module().parameters()) d_params.push_back(p);
    }
    torch::optim::Adam g_opt(branches.parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
    torch::optim::Adam d_opt(d_params, torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
    TrainLoop loop(loop_options(args, w, "train-branches-" + sf, 400), modules, {{"g", &g_opt}, {"d", &d_opt}});
    loop.run([&](int step) {
      auto b = task->sample(batch, batch_index(args, step), Stream::Branches);
      std::vector<torch::Tensor> levels;
      torch::Tensor target, guide;
      {
        torch::NoGradGuard no_grad;
        target = backbone_forward(graph, b.input, &levels);
        guide = branch_guide(*task, b, levels[0]);
      }
      auto g_total = torch::zeros({});
      auto d_total = torch::zeros({});
      double l1_sum = 0, ssim_sum = 0;
      for (int e = 0; e < graph.num_branches(); ++e) {
        auto fake = graph.finish(graph.branch(sf, e, levels[graph.attach_point(e)], guide), b.input);
        auto& disc = *discs[e];
        auto real_scales = disc.forward(target, b.condition);
        auto fake_scales = disc.forward(fake, b.condition);
        auto l1 = losses::l1(fake, target, b.loss_weight), ssim = losses::ms_ssim(fake, target);
        g_total = g_total + l1 + ssim +
                  adv_weight * (losses::hinge_generator(patch_outputs(fake_scales, false)) +
                                losses::feature_matching(patch_outputs(real_scales, true), patch_outputs(fake_scales, true)));
        auto d_fake = disc.forward(fake.detach(), b.condition);
        d_total = d_total + losses::hinge_discriminator(patch_outputs(real_scales, false), patch_outputs(d_fake, false));
        l1_sum += l1.item<double>();
        ssim_sum += ssim.item<double>();
      }
      g_opt.zero_grad();
      g_total.backward({}, true);
      g_opt.step();
      d_opt.zero_grad();
      d_total.backward();
      d_opt.step();
      const double n = graph.num_branches();
      return StepLosses{{"total", g_total.item<double>()}, {"l1", l1_sum / n}, {"ms_ssim", ssim_sum / n}, {"d", d_total.item<double>()}};
    });
    safetensors::save(w.path(Work::sf_file(sf)), graph.branch_state(sf));
    std::fprintf(stderr, "train-branches: wrote %s\n", w.path(Work::sf_file(sf)).c_str());
  }
  return 0;
}

// Labels: each branch's 1 - MS-SSIM against the backbone output; MAE loss (Sec. S2).
int train_predictor(const Options& args) {
  auto w = Work::open(args.get("--work", ""));
  auto task = make_task(w, args);
  auto& graph = task->graph();
  load_backbone(*task, w);
  graph.eval();
  const auto metric = make_ms_ssim_distance();
  const int batch = args.integer("--batch", 16);
  for (const auto& sf : graph.scale_factors()) {
    graph.load_branches(sf, safetensors::load(w.path(Work::sf_file(sf))), w.path(Work::sf_file(sf)));
    auto& module = graph.branch_module(sf);
    std::vector<torch::Tensor> params;
    for (const auto& p : module.named_parameters())
      if (p.key().rfind("predictor.", 0) == 0) params.push_back(p.value());
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(std::stod(args.get("--lr", "1e-3"))).betas({0.9, 0.999}));
    TrainLoop loop(loop_options(args, w, "train-predictor-" + sf, 300), {{"branches", &module}}, {{"adamw", &opt}});
    loop.run([&](int step) {
      auto b = task->sample(batch, batch_index(args, step), Stream::Predictor);
      torch::Tensor features, labels;
      {
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> levels;
        auto target = backbone_forward(graph, b.input, &levels);
        features = levels[0];
        const auto guide = branch_guide(*task, b, levels[0]);
        std::vector<torch::Tensor> cols;
        for (int e = 0; e < graph.num_branches(); ++e)
          cols.push_back(metric->distance(graph.finish(graph.branch(sf, e, levels[graph.attach_point(e)], guide), b.input), target));
        labels = torch::stack(cols, 1);
      }
      auto mae = (graph.predict(sf, features, b.key) - labels).abs().mean();
      opt.zero_grad();
      mae.backward();
      opt.step();
      return StepLosses{{"total", mae.item<double>()}, {"label_mean", labels.mean().item<double>()}};
    });
    safetensors::save(w.path(Work::sf_file(sf)), graph.branch_state(sf));
  }
  const std::string out = args.get("--out", w.path("package"));
  task->write_package(out, args);
  std::fprintf(stderr, "train-predictor: wrote package %s\n", out.c_str());
  if (const int frames = args.integer("--calibration-frames", 400); frames > 0)
    calibrate_package(out, frames, w.meta.value("data", "procedural"), w.seed());
  return 0;
}

}  // namespace fiancee::tools
