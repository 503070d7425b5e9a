// `fiancee train-backbone | train-branches | train-predictor` for the
// reenactment pipeline, on procedural heads (self-reenactment: source and
// driver of one identity, target = driver). All three share core/train_loop
// (seed, resumable checkpoints, progress, loss CSV) and core/losses.
//
// Work directory layout: <work>/architecture.json, <work>/checkpoints/,
// <work>/backbone.safetensors, <work>/branches-<sf>.safetensors, and the
// finished package in <work>/package after train-predictor.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/losses.h"
#include "core/metrics.h"
#include "core/safetensors.h"
#include "core/train_loop.h"
#include "models/g2d.h"
#include "models/oasis.h"
#include "pipelines/reenact_data.h"
#include "pipelines/reenact_inputs.h"
#include "pipelines/reenact_package.h"
#include "tools/args.h"

namespace fiancee::tools {

namespace fs = std::filesystem;

namespace {

struct Work {
  std::string dir;
  int resolution = 128;
  int identities = 64;
  uint64_t seed = 1;
  models::G2DConfig config;

  std::string path(const std::string& f) const { return dir + "/" + f; }
  static std::string sf_file(std::string sf) {
    std::replace(sf.begin(), sf.end(), '/', '_');
    return "branches-" + sf + ".safetensors";
  }

  void save_meta() const {
    nlohmann::json j{{"resolution", resolution}, {"identities", identities}, {"seed", seed}, {"architecture", config.to_json()}};
    std::ofstream(path("architecture.json")) << j.dump(2);
  }
  static Work open(const std::string& dir) {
    const std::string p = dir + "/architecture.json";
    std::ifstream in(p);
    if (!in) throw InputError(p + ": missing; run `fiancee train-backbone --work " + dir + "` first");
    const auto j = nlohmann::json::parse(in);
    Work w;
    w.dir = dir;
    w.resolution = j.at("resolution").get<int>();
    w.identities = j.at("identities").get<int>();
    w.seed = j.at("seed").get<uint64_t>();
    w.config = models::G2DConfig::from_json(j.at("architecture"), p);
    return w;
  }
  reenact::ProceduralHeads data() const { return reenact::ProceduralHeads(resolution, identities, 16, seed); }
};

TrainLoopOptions loop_options(const Args& args, const Work& w, const std::string& name, int default_steps) {
  TrainLoopOptions o;
  o.name = name;
  o.checkpoint_dir = w.path("checkpoints");
  o.steps = args.integer("--steps", default_steps);
  o.checkpoint_every = args.integer("--checkpoint-every", 50);
  o.log_every = args.integer("--log-every", 5);
  o.seed = w.seed;
  o.quiet = args.has("--quiet");
  return o;
}

// --fixed-batch: every step sees the first step's batch (tests: the loss must fall).
uint64_t batch_index(const Args& args, int step, uint64_t offset) {
  return (args.has("--fixed-batch") ? 0 : static_cast<uint64_t>(step)) + offset;
}

// The backbone route with gradients: front, every stage, head.
torch::Tensor backbone_forward(models::G2DGraph& g, const torch::Tensor& input, std::vector<torch::Tensor>* levels = nullptr) {
  auto x = g.front(input);
  if (levels) levels->push_back(x);
  for (int k = 1; k <= g.num_stages(); ++k) {
    x = g.stage(k, x);
    if (levels) levels->push_back(x);
  }
  return g.head(x);
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

}  // namespace

int train_backbone(const Args& args) {
  Work w;
  w.dir = args.get("--work", "");
  if (w.dir.empty()) throw InputError("train-backbone needs --work DIR");
  fs::create_directories(w.dir);
  w.resolution = args.integer("--resolution", 128);
  w.identities = args.integer("--identities", 64);
  w.seed = static_cast<uint64_t>(args.integer("--seed", 1));
  w.config = reenact_config(args.integer("--channels", 32), true, args.list("--scale-factors", "1/2,1/4"));
  if (fs::exists(w.path("architecture.json"))) {
    const auto prev = Work::open(w.dir);
    if (prev.config.to_json() != w.config.to_json() || prev.resolution != w.resolution)
      throw InputError(w.dir + ": holds a run with another architecture; use a new --work directory");
  }
  w.save_meta();
  torch::manual_seed(w.seed);
  models::G2DGraph graph(w.config);
  auto& module = graph.backbone_module();
  module.train();
  torch::optim::Adam opt(module.parameters(), torch::optim::AdamOptions(std::stod(args.get("--lr", "2e-4"))).betas({0.5, 0.999}));
  auto data = w.data();
  const int batch = args.integer("--batch", 8);
  TrainLoop loop(loop_options(args, w, "train-backbone", 600), {{"backbone", &module}}, {{"adam", &opt}});
  loop.run([&](int step) {
    auto b = data.sample(batch, batch_index(args, step, 0));
    auto out = backbone_forward(graph, reenact::backbone_input(b.source, b.key));
    auto l1 = losses::l1(out, b.driver), ssim = losses::ms_ssim(out, b.driver);
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
int train_branches(const Args& args) {
  auto w = Work::open(args.get("--work", ""));
  models::G2DGraph graph(w.config);
  graph.load_backbone(safetensors::load(w.path("backbone.safetensors")), w.path("backbone.safetensors"));
  graph.backbone_module().eval();
  const double adv_weight = std::stod(args.get("--adversarial-weight", "0.05"));
  const int batch = args.integer("--batch", 8);
  auto data = w.data();
  for (const auto& [sf, specs] : w.config.branches) {
    auto& branches = graph.branch_module(sf);
    branches.train();
    std::vector<std::unique_ptr<models::OasisDiscriminator>> discs;
    std::vector<std::pair<std::string, torch::nn::Module*>> modules{{"branches", &branches}};
    std::vector<torch::Tensor> d_params;
    for (size_t b = 0; b < specs.size(); ++b) {
      models::OasisDiscriminatorConfig dc;
      dc.label_channels = 3;  // conditioned on the source image
      dc.base_channels = 32;
      dc.layers = 3;
      discs.push_back(std::make_unique<models::OasisDiscriminator>(dc));
      modules.emplace_back("disc" + std::to_string(b), &discs.back()->module());
      for (auto& p : discs.back()->module().parameters()) d_params.push_back(p);
    }
    torch::optim::Adam g_opt(branches.parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
    torch::optim::Adam d_opt(d_params, torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
    std::string name = "train-branches-" + sf;
    std::replace(name.begin(), name.end(), '/', '_');
    TrainLoop loop(loop_options(args, w, name, 400), modules, {{"g", &g_opt}, {"d", &d_opt}});
    loop.run([&](int step) {
      auto b = data.sample(batch, batch_index(args, step, 1000000));
      std::vector<torch::Tensor> levels;
      torch::Tensor target;
      {
        torch::NoGradGuard no_grad;
        target = backbone_forward(graph, reenact::backbone_input(b.source, b.key), &levels);
      }
      auto g_total = torch::zeros({});
      auto d_total = torch::zeros({});
      double l1_sum = 0, ssim_sum = 0;
      for (int e = 0; e < graph.num_branches(); ++e) {
        auto fake = graph.branch(sf, e, levels[graph.attach_point(e)], b.guide);
        auto& disc = *discs[e];
        auto real_scales = disc.forward(target, b.source);
        auto fake_scales = disc.forward(fake, b.source);
        auto l1 = losses::l1(fake, target), ssim = losses::ms_ssim(fake, target);
        g_total = g_total + l1 + ssim +
                  adv_weight * (losses::hinge_generator(patch_outputs(fake_scales, false)) +
                                losses::feature_matching(patch_outputs(real_scales, true), patch_outputs(fake_scales, true)));
        auto d_fake = disc.forward(fake.detach(), b.source);
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
int train_predictor(const Args& args) {
  auto w = Work::open(args.get("--work", ""));
  models::G2DGraph graph(w.config);
  graph.load_backbone(safetensors::load(w.path("backbone.safetensors")), w.path("backbone.safetensors"));
  graph.eval();
  const auto metric = make_ms_ssim_distance();
  const int batch = args.integer("--batch", 16);
  // --avatar-only: samples of the package's avatar (identity 0) alone, to
  // specialise the predictor to the source it will serve, as the database is.
  auto data = args.has("--avatar-only") ? reenact::ProceduralHeads(w.resolution, 1, 16, w.seed) : w.data();
  for (const auto& [sf, specs] : w.config.branches) {
    graph.load_branches(sf, safetensors::load(w.path(Work::sf_file(sf))), w.path(Work::sf_file(sf)));
    auto& module = graph.branch_module(sf);
    std::vector<torch::Tensor> params;
    for (const auto& p : module.named_parameters())
      if (p.key().rfind("predictor.", 0) == 0) params.push_back(p.value());
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(std::stod(args.get("--lr", "1e-3"))).betas({0.9, 0.999}));
    std::string name = "train-predictor-" + sf;
    std::replace(name.begin(), name.end(), '/', '_');
    TrainLoop loop(loop_options(args, w, name, 300), {{"branches", &module}}, {{"adamw", &opt}});
    loop.run([&](int step) {
      auto b = data.sample(batch, batch_index(args, step, 2000000));
      torch::Tensor features, labels;
      {
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> levels;
        auto target = backbone_forward(graph, reenact::backbone_input(b.source, b.key), &levels);
        features = levels[0];
        std::vector<torch::Tensor> cols;
        for (int e = 0; e < graph.num_branches(); ++e)
          cols.push_back(metric->distance(graph.branch(sf, e, levels[graph.attach_point(e)], b.guide), target));
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
  // The avatar: identity 0 of the training set, its guide database of renders in other poses.
  auto heads = w.data();
  const auto frames = heads.frames(0, args.integer("--database-size", 48), 7);
  const std::string out = args.get("--out", w.path("package"));
  ReenactPackageInfo info{args.get("--name", "avatar-demo"),
                          "Reenactment G2D trained by `fiancee train-*` on procedural heads (" + std::to_string(w.identities) +
                              " identities), " + std::to_string(w.resolution) + "x" + std::to_string(w.resolution) +
                              "; avatar = procedural identity 0. See docs/training.md.",
                          false, w.resolution};
  write_reenact_package(out, graph, info, &frames, heads.source(0), args.has("--overwrite"));
  std::fprintf(stderr, "train-predictor: wrote package %s\n", out.c_str());
  return 0;
}

}  // namespace fiancee::tools
