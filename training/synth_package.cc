#include "training/synth_package.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "training/package_writer.h"
#include "datasets/street_scenes.h"
#include "pipelines/synth_inputs.h"

namespace fiancee::synth {

const models::Family& synth_family(const std::string& name, const std::string& what) {
  const auto* family = models::find_family(name);
  if (!family || !family->synth())
    throw InputError(what + " '" + name + "' is not a synthesis family (known: " + models::synth_family_names() + ")");
  return *family;
}

models::OasisConfig oasis_config(int num_classes, int height, int width, int base, bool guide,
                                 const std::vector<std::string>& scale_factors) {
  if (base < 8 || base % 8 != 0) throw InputError("OASIS base width must be a positive multiple of 8");
  models::OasisConfig c;
  c.num_classes = num_classes;
  c.z_dim = std::max(4, base / 8);
  c.height = height;
  c.width = width;
  c.channels = {base, base, base, 3 * base / 4, base / 2, 3 * base / 8, base / 4};
  c.spade_hidden = base / 2;
  c.norm = "batch";
  c.attach_points = {0, 1, 2, 3};
  c.guide_channels = guide ? c.channels[3] : 0;
  c.min_channels = std::max(4, base / 8);
  c.predictor_channels = base / 2;
  // Table S7's conv (3x3, stride 2, no padding) over the H/32 x W/32 front grid.
  c.predictor_grid_h = std::max(1, (height / 32 - 2) / 2);
  c.predictor_grid_w = std::max(1, (width / 32 - 2) / 2);
  c.predictor_hidden = {2 * base, base};
  for (const auto& sf : scale_factors) c.add_scale_factor(sf);
  return c;
}

models::AsapConfig asap_config(int num_classes, int base, const std::vector<std::string>& scale_factors) {
  if (base < 8) throw InputError("ASAP-Net base width must be at least 8");
  models::AsapConfig c;
  c.num_classes = num_classes;
  c.extra_lr_channels = 0;
  c.input_downsample = 1;
  c.lr_channels = {base / 4, base / 2, base / 2, base, 2 * base};  // S = 16
  c.num_stages = 4;
  c.mlp_width = std::max(8, base / 2);
  c.mlp_hidden = 4;
  c.predictor_grid = 2;
  c.predictor_hidden = {base, base / 2};
  c.min_adapter_channels = std::max(4, base / 4);
  c.min_mlp_channels = 8;
  c.attach_points = {1, 2, 3};
  c.branch_mlp_hidden = {1, 2, 3};
  for (const auto& sf : scale_factors) c.add_scale_factor(sf);
  return c;
}

GuideDatabase build_patch_database(models::OasisGraph& graph, const torch::Tensor& labels, const torch::Tensor& z, int per_class) {
  if (per_class < 1) throw InputError("patch database: at least one entry per class is needed");
  torch::NoGradGuard no_grad;
  const auto& cfg = graph.config();
  std::vector<torch::Tensor> keys, classes, values;
  const int64_t chunk = 8;
  for (int64_t start = 0; start < labels.size(0); start += chunk) {
    const int64_t n = std::min(chunk, labels.size(0) - start);
    auto zz = z.size(0) == 1 ? z : z.narrow(0, start, n);
    auto x = graph.front(backbone_input(models::family(models::FamilyId::Oasis), labels.narrow(0, start, n), zz, cfg.num_classes));
    auto e = graph.guide_entries(x, graph.stage(2, graph.stage(1, x)));
    keys.push_back(e.keys);
    classes.push_back(e.labels);
    values.push_back(e.values.to(torch::kHalf));
  }
  auto all_keys = torch::cat(keys), all_classes = torch::cat(classes), all_values = torch::cat(values);
  std::vector<int64_t> keep;
  for (int c = 0; c < cfg.num_classes; ++c) {
    auto rows = (all_classes == c).nonzero().flatten();
    if (rows.numel() == 0) continue;
    for (int64_t r : farthest_point_sample(all_keys.index_select(0, rows), per_class)) keep.push_back(rows[r].item<int64_t>());
  }
  auto idx = torch::tensor(keep, torch::kLong);
  return GuideDatabase(all_keys.index_select(0, idx), all_values.index_select(0, idx), all_classes.index_select(0, idx));
}

void write_package(const std::string& dir, const models::BranchedGraph& graph, int height, int width, const PackageInfo& info,
                   const GuideDatabase* db, bool overwrite) {
  training::prepare_package_dir(dir, overwrite);
  Manifest m;
  m.name = info.name;
  m.description = info.description;
  m.untrained = info.untrained;
  m.pipeline = "synth";
  m.use_ms_ssim_distance();
  m.default_threshold = info.default_threshold;
  m.output = {width, height, 3, -1.0, 1.0};
  if (const auto* oasis = dynamic_cast<const models::OasisGraph*>(&graph)) {
    const auto& c = oasis->config();
    if (c.height != height || c.width != width)
      throw InputError(dir + ": the OASIS graph renders " + std::to_string(c.height) + "x" + std::to_string(c.width) + ", not " +
                       std::to_string(height) + "x" + std::to_string(width));
    m.family = models::family(models::FamilyId::Oasis).name;
    m.architecture = std::make_shared<const nlohmann::json>(c.to_json());
    m.input = {width, height, c.label_channels(), 0.0, 1.0};
    training::write_graph_weights(dir, graph, m, [&](const std::string& sf) { return oasis->route_gflops(sf); });
    if (db) {
      db->save(dir, "guide");
      m.guide_database = GuideDatabaseEntry{"guide", c.front_out(), db->value_shape(),
                                            "OASIS front features of one H/32 x W/32 cell, searched within the cell's majority class; "
                                            "values = block-3 features of the cell (FIANCEE Sec. 4.1)"};
    }
  } else if (const auto* asap = dynamic_cast<const models::AsapGraph*>(&graph)) {
    if (db) throw InputError(dir + ": ASAP-Net packages take no patch database");
    const auto& c = asap->config();
    m.family = models::family(models::FamilyId::Asap).name;
    m.architecture = std::make_shared<const nlohmann::json>(c.to_json());
    m.input = {width, height, c.input_channels(), 0.0, 1.0};
    training::write_graph_weights(dir, graph, m, [&](const std::string& sf) { return asap->route_gflops(sf, height, width); });
  } else {
    throw InputError(dir + ": only OASIS and ASAP-Net graphs make synthesis packages");
  }
  Package::write(dir, m);
}

void write_demo_package(const std::string& dir, const DemoPackageOptions& o) {
  const auto& family = synth_family(o.family, "demo package family");
  torch::manual_seed(o.seed);
  const std::vector<std::string> sfs{"1/2", "1/4"};
  const PackageInfo info{"scenes-" + family.name + "-untrained",
                         "Random, UNTRAINED weights: exercises the engine and the element; its images are noise-like.", true,
                         0.05};  // the trained scenes-demo's threshold, so tests see a non-0.1 package default
  switch (family.id) {
    case models::FamilyId::Asap: {
      models::AsapGraph graph(asap_config(kNumClasses, 16, sfs));
      write_package(dir, graph, o.height, o.width, info, nullptr);
      return;
    }
    case models::FamilyId::Oasis: {
      models::OasisGraph graph(oasis_config(kNumClasses, o.height, o.width, 16, o.with_database, sfs));
      graph.eval();
      if (!o.with_database) {
        write_package(dir, graph, o.height, o.width, info, nullptr);
        return;
      }
      StreetScenes scenes(o.height, o.width, o.seed);
      const auto batch = scene_batch(scenes, 0, 8);
      const auto db = build_patch_database(graph, batch.labels, noise_for_seed(0, graph.config().z_dim), 4);
      write_package(dir, graph, o.height, o.width, info, &db);
      return;
    }
    default:
      throw InputError("no demo configuration for " + family.title + " packages");
  }
}

}  // namespace fiancee::synth
