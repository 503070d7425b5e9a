#include "models/g2d.h"

#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <nlohmann/json.hpp>

#include <map>

#include "core/errors.h"
#include "core/json_reader.h"
#include "core/scale_factor.h"
#include "models/blocks.h"
#include "models/state_dict.h"

namespace fiancee::models {

namespace F = torch::nn::functional;
using nlohmann::json;

namespace {

int64_t halve(int64_t n) { return (n + 1) / 2; }  // 3x3 conv, stride 2, padding 1

struct Front : torch::nn::Module {
  explicit Front(const G2DConfig& c) {
    int in = c.input_channels;
    for (size_t i = 0; i < c.front_channels.size(); ++i) {
      const int out = c.front_channels[i];
      convs->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(i == 0 ? 1 : 2).padding(1)));
      in = out;
    }
    register_module("convs", convs);
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& conv : *convs) x = F::leaky_relu(conv->as<torch::nn::Conv2d>()->forward(x), F::LeakyReLUFuncOptions().negative_slope(0.2));
    return x;
  }
  torch::nn::ModuleList convs;
};

struct Backbone : torch::nn::Module {
  explicit Backbone(const G2DConfig& c) : front(std::make_shared<Front>(c)), head(c.stages.back().out) {
    register_module("front", front);
    for (const auto& s : c.stages) stages->push_back(ResBlock2D(s.in, s.out, s.upsample));
    register_module("stages", stages);
    register_module("head", head);
  }
  std::shared_ptr<Front> front;
  torch::nn::ModuleList stages;
  ImageHead head;
};

struct Branch : torch::nn::Module {
  Branch(const std::vector<G2DBlockSpec>& specs, int guide_channels) : guide_channels(guide_channels), head(specs.back().out) {
    for (const auto& s : specs) blocks->push_back(ResBlock2D(s.in + guide_channels, s.out, s.upsample));
    register_module("blocks", blocks);
    register_module("head", head);
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& guide) {
    for (auto& block : *blocks) {
      if (guide_channels > 0) {
        // No database: a zero guide keeps the block's input width.
        auto g = guide.defined()
                     ? F::interpolate(guide.to(x.dtype()), F::InterpolateFuncOptions()
                                                               .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                                               .mode(torch::kBilinear).align_corners(false))
                     : torch::zeros({x.size(0), guide_channels, x.size(2), x.size(3)}, x.options());
        x = torch::cat({x, g}, 1);
      }
      x = block->as<ResBlock2D>()->forward(x);
    }
    return head(x);
  }
  int guide_channels;
  torch::nn::ModuleList blocks;
  ImageHead head;
};

struct BranchSet : torch::nn::Module {
  BranchSet(const G2DConfig& c, const std::vector<std::vector<G2DBlockSpec>>& specs) {
    for (const auto& s : specs) branches->push_back(std::make_shared<Branch>(s, c.guide_channels));
    register_module("branches", branches);
    predictor = mlp_predictor(c.front_out() * c.predictor_grid * c.predictor_grid + c.key_dim, c.predictor_hidden, static_cast<int64_t>(specs.size()));
    register_module("predictor", predictor);
  }
  torch::nn::ModuleList branches;
  torch::nn::Sequential predictor;
};

// Blocks [in_channels, out_channels, upsample], each taking the width the one
// before gives; `source` names what gives the first its input.
std::vector<G2DBlockSpec> blocks(const JsonReader& list, int width, const std::string& source) {
  std::vector<G2DBlockSpec> out;
  for (const JsonReader& r : list.items()) {
    if (r.size() != 3) r.fail("must be [in_channels, out_channels, upsample], found " + r.value().dump());
    const G2DBlockSpec b{r.item(0).as_integer(1, kMaxChannels), r.item(1).as_integer(1, kMaxChannels), r.item(2).as_bool()};
    if (b.in != width)
      r.fail("takes " + std::to_string(b.in) + " channels but " + (out.empty() ? source : "the block before") + " gives " +
             std::to_string(width));
    out.push_back(b);
    width = b.out;
  }
  if (out.empty()) list.fail("must hold at least one block");
  return out;
}

json block_to_json(const G2DBlockSpec& b) { return json::array({b.in, b.out, b.upsample}); }

}  // namespace

void G2DConfig::add_scale_factor(const std::string& name) {
  const auto sf = ScaleFactor::parse(name);
  std::vector<std::vector<G2DBlockSpec>> set;
  for (int attach : attach_points) {
    std::vector<G2DBlockSpec> blocks;
    int in = attach == 0 ? front_out() : stages[attach - 1].out;
    for (size_t k = attach; k < stages.size(); ++k) {
      const int out = sf.scale(stages[k].out, min_channels);
      blocks.push_back({in, out, stages[k].upsample});
      in = out;
    }
    set.push_back(blocks);
  }
  branches.emplace_back(sf.str(), set);
}

G2DConfig G2DConfig::paper(const std::vector<std::string>& scale_factors, bool guide) {
  G2DConfig c;
  c.input_channels = 512;  // the G2D input: the projected 3D volume, 512 x 64 x 64
  c.front_channels = {};
  const int widths[9] = {512, 512, 512, 512, 512, 512, 256, 128, 64};
  int in = 512;
  for (int k = 0; k < 9; ++k) {
    c.stages.push_back({in, widths[k], k >= 6});  // blocks 7-9 upsample to 128, 256, 512
    in = widths[k];
  }
  c.attach_points = {2, 4, 6};
  c.guide_channels = guide ? 3 : 0;
  c.min_channels = 24;
  // Table S7 feeds the MegaPortraits predictor a 1584-d vector; ours pools the
  // 512-channel input to 2x2 (2048) plus the 515-d key (3 angles + 512 expression).
  c.key_dim = 515;
  c.predictor_grid = 2;
  c.predictor_hidden = {512, 256, 128, 64};
  // Output widths per branch exactly as Table S9 prints them; the upsampling of
  // each block mirrors the backbone block it replaces.
  const std::map<std::string, std::vector<std::vector<int>>> table_s9 = {
      {"1/3", {{170, 170, 170, 170, 85, 42, 24}, {170, 170, 85, 42, 24}, {170, 85, 42}}},
      {"1/6", {{85, 85, 85, 85, 42, 24, 24}, {85, 85, 42, 24, 24}, {85, 42, 24}}},
      {"1/8", {{64, 64, 64, 64, 32, 24, 24}, {64, 64, 32, 24, 24}, {64, 32, 24}}},
      {"1/15", {{34, 34, 34, 34, 24, 24, 24}, {34, 34, 24, 24, 24}, {34, 24, 24}}}};
  for (const auto& sf : scale_factors) {
    auto it = table_s9.find(sf);
    if (it == table_s9.end()) throw InputError("Table S9 has no scale factor '" + sf + "' (it has 1/3, 1/6, 1/8, 1/15)");
    std::vector<std::vector<G2DBlockSpec>> set;
    for (size_t b = 0; b < it->second.size(); ++b) {
      std::vector<G2DBlockSpec> chain;
      int w_in = 512;
      const int first = c.attach_points[b];
      for (size_t j = 0; j < it->second[b].size(); ++j) {
        chain.push_back({w_in, it->second[b][j], c.stages[first + j].upsample});
        w_in = it->second[b][j];
      }
      set.push_back(chain);
    }
    c.branches.emplace_back(sf, set);
  }
  return c;
}

G2DConfig G2DConfig::from_json(const json& j, const std::string& origin) {
  JsonReader r(j, origin, "architecture");
  if (r.has("family")) r.choice("family", {"g2d"});
  G2DConfig c;
  c.input_channels = r.integer("input_channels", 1, kMaxChannels);
  c.front_channels = r.ints("front_channels", 1, kMaxChannels);
  c.stages = blocks(r.array("stages"), c.front_out(), "the front");
  // A branch replaces at least the last stage.
  c.attach_points = r.ints("attach_points", 0, static_cast<int>(c.stages.size()) - 1);
  c.guide_channels = r.integer("guide_channels", 0, kMaxChannels);
  c.key_dim = r.integer("key_dim", 0, kMaxChannels);
  // A refiner's correction is added to the input's RGB: 0 or 3.
  if (r.has("residual_channels")) c.residual_channels = r.integer("residual_channels", 0, 3);
  if (c.residual_channels != 0 && c.residual_channels != 3)
    throw PackageError(origin + ": field 'architecture.residual_channels' must be 0 or 3, found " + std::to_string(c.residual_channels));
  if (r.has("residual_scale")) {
    c.residual_scale = r.number("residual_scale");
    if (c.residual_channels == 0 || !(c.residual_scale > 0.0 && c.residual_scale <= 4.0))
      throw PackageError(origin + ": field 'architecture.residual_scale' must lie in (0, 4] and needs residual_channels 3, found " +
                         std::to_string(c.residual_scale));
  }
  c.predictor_grid = r.integer("predictor_grid", 1, kMaxSide);
  c.predictor_hidden = r.ints("predictor_hidden", 1, kMaxChannels);
  c.min_channels = r.integer("min_channels", 1, kMaxChannels);
  for (const auto& [sf, set] : scale_factor_map(r, "branches")) {
    const auto lists = set.items(c.attach_points.size(), "one per attach point");
    std::vector<std::vector<G2DBlockSpec>> chains;
    for (size_t b = 0; b < lists.size(); ++b) {
      const int attach = c.attach_points[b];
      const int width = attach == 0 ? c.front_out() : c.stages[attach - 1].out;
      chains.push_back(blocks(lists[b], width, "attach point " + std::to_string(attach)));
    }
    c.branches.emplace_back(sf, std::move(chains));
  }
  r.finish();
  return c;
}

json G2DConfig::to_json() const {
  json j;
  j["family"] = "g2d";
  j["input_channels"] = input_channels;
  j["front_channels"] = front_channels;
  j["stages"] = json::array();
  for (const auto& s : stages) j["stages"].push_back(block_to_json(s));
  j["attach_points"] = attach_points;
  j["guide_channels"] = guide_channels;
  j["key_dim"] = key_dim;
  if (residual_channels > 0) j["residual_channels"] = residual_channels;
  if (residual_scale != 1.0) j["residual_scale"] = residual_scale;
  j["predictor_grid"] = predictor_grid;
  j["predictor_hidden"] = predictor_hidden;
  j["min_channels"] = min_channels;
  j["branches"] = json::object();
  for (const auto& [sf, set] : branches) {
    json s = json::array();
    for (const auto& chain : set) {
      json c = json::array();
      for (const auto& b : chain) c.push_back(block_to_json(b));
      s.push_back(c);
    }
    j["branches"][sf] = s;
  }
  return j;
}

struct G2DGraph::Impl {
  std::shared_ptr<Backbone> backbone;
};

G2DGraph::G2DGraph(G2DConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>()) {
  impl_->backbone = std::make_shared<Backbone>(config_);
  ModuleSets sets;
  for (const auto& [sf, specs] : config_.branches) sets.emplace_back(sf, std::make_shared<BranchSet>(config_, specs));
  set_modules(impl_->backbone, std::move(sets));
}

G2DGraph::~G2DGraph() = default;

int G2DGraph::num_stages() const { return static_cast<int>(config_.stages.size()); }
int G2DGraph::num_branches() const { return static_cast<int>(config_.attach_points.size()); }
int G2DGraph::attach_point(int b) const { return config_.attach_points.at(b); }

torch::Tensor G2DGraph::front(const torch::Tensor& input) { return impl_->backbone->front->forward(input); }

torch::Tensor G2DGraph::stage(int k, const torch::Tensor& x) {
  return impl_->backbone->stages[k - 1]->as<ResBlock2D>()->forward(x);
}

torch::Tensor G2DGraph::head(const torch::Tensor& x) { return impl_->backbone->head(x); }

torch::Tensor G2DGraph::branch(const std::string& sf, int b, const torch::Tensor& x, const torch::Tensor& guide) {
  return branch_set<BranchSet>(sf).branches[b]->as<Branch>()->forward(x, guide);
}

torch::Tensor G2DGraph::finish(const torch::Tensor& output, const torch::Tensor& input) {
  if (config_.residual_channels == 0) return output;
  const auto correction = config_.residual_scale == 1.0 ? output : output * config_.residual_scale;
  return (correction + input.slice(1, 0, config_.residual_channels)).clamp(-1.0, 1.0);
}

torch::Tensor G2DGraph::predict(const std::string& sf, const torch::Tensor& features, const torch::Tensor& key) {
  auto pooled = F::adaptive_avg_pool2d(features, F::AdaptiveAvgPool2dFuncOptions(config_.predictor_grid)).flatten(1);
  return branch_set<BranchSet>(sf).predictor->forward(with_key(pooled, key, config_.key_dim));
}

std::vector<double> G2DGraph::route_gflops(const std::string& sf, int64_t h, int64_t w) const {
  int64_t macs = 0;
  int in = config_.input_channels;
  for (size_t i = 0; i < config_.front_channels.size(); ++i) {
    if (i > 0) h = halve(h), w = halve(w);
    macs += conv_macs(in, config_.front_channels[i], 3, h, w);
    in = config_.front_channels[i];
  }
  // Prefix cost and resolution after each stage: branches start from these.
  std::vector<int64_t> prefix{macs}, hs{h}, ws{w};
  for (const auto& s : config_.stages) {
    macs += resblock_macs(s.in, s.out, s.upsample, h, w);
    if (s.upsample) h *= 2, w *= 2;
    prefix.push_back(macs), hs.push_back(h), ws.push_back(w);
  }
  const auto to_g = [](int64_t m) { return static_cast<double>(m) / 1e9; };
  std::vector<double> out;
  for (const auto& [name, set] : config_.branches) {
    if (name != sf) continue;
    for (size_t b = 0; b < set.size(); ++b) {
      const int a = config_.attach_points[b];
      int64_t m = prefix[a], bh = hs[a], bw = ws[a];
      for (const auto& blk : set[b]) {
        m += resblock_macs(blk.in + config_.guide_channels, blk.out, blk.upsample, bh, bw);
        if (blk.upsample) bh *= 2, bw *= 2;
      }
      m += conv_macs(set[b].back().out, 3, 3, bh, bw);
      out.push_back(to_g(m));
    }
  }
  if (out.empty()) throw InputError("scale factor '" + sf + "' has no branches in this model");
  out.push_back(to_g(macs + conv_macs(config_.stages.back().out, 3, 3, h, w)));
  return out;
}


}  // namespace fiancee::models
