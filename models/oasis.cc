#include "models/oasis.h"

#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>

#include <nlohmann/json.hpp>

#include <algorithm>
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

// ---------------------------------------------------------------- helpers

torch::nn::Conv2dOptions conv_opts(int in, int out, int k) { return torch::nn::Conv2dOptions(in, out, k).padding(k / 2); }

torch::Tensor lrelu(const torch::Tensor& x) { return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)); }

torch::Tensor up2(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
}

// OASIS's SPADE resizes the map with F.interpolate(mode='nearest') to each block's size.
torch::Tensor resize_nearest(const torch::Tensor& seg, int64_t h, int64_t w) {
  if (seg.size(2) == h && seg.size(3) == w) return seg;
  return F::interpolate(seg, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest));
}

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

int64_t conv_params(int64_t in, int64_t out, int64_t k, bool bias = true) { return in * out * k * k + (bias ? out : 0); }

int64_t spade_params(int64_t norm_nc, int64_t label_nc, int64_t hidden) {
  return conv_params(label_nc, hidden, 3) + 2 * conv_params(hidden, norm_nc, 3);
}

int64_t spade_resblock_params(int64_t fin, int64_t fout, int64_t label_nc, int64_t hidden) {
  const int64_t fm = std::min(fin, fout);
  int64_t p = conv_params(fin, fm, 3) + conv_params(fm, fout, 3) + spade_params(fin, label_nc, hidden) + spade_params(fm, label_nc, hidden);
  if (fin != fout) p += conv_params(fin, fout, 1, false) + spade_params(fin, label_nc, hidden);
  return p;
}

// ---------------------------------------------------------------- modules

// SPADE (Park et al. 2019) as OASIS writes it: parameter-free norm, then
// gamma/beta from a shared conv(label map -> hidden) + ReLU.
struct SpadeImpl : torch::nn::Module {
  SpadeImpl(int norm_nc, int label_nc, int hidden, bool instance) {
    if (instance)
      inorm = register_module("first_norm", torch::nn::InstanceNorm2d(torch::nn::InstanceNormOptions(norm_nc).affine(false)));
    else
      bnorm = register_module("first_norm", torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(norm_nc).affine(false)));
    mlp_shared = register_module("mlp_shared", torch::nn::Sequential(torch::nn::Conv2d(conv_opts(label_nc, hidden, 3)), torch::nn::ReLU()));
    mlp_gamma = register_module("mlp_gamma", torch::nn::Conv2d(conv_opts(hidden, norm_nc, 3)));
    mlp_beta = register_module("mlp_beta", torch::nn::Conv2d(conv_opts(hidden, norm_nc, 3)));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& seg) {
    auto normalized = inorm ? inorm(x) : bnorm(x);
    auto actv = mlp_shared->forward(seg);
    return normalized * (1 + mlp_gamma(actv)) + mlp_beta(actv);
  }
  torch::nn::InstanceNorm2d inorm{nullptr};
  torch::nn::BatchNorm2d bnorm{nullptr};
  torch::nn::Sequential mlp_shared{nullptr};
  torch::nn::Conv2d mlp_gamma{nullptr}, mlp_beta{nullptr};
};
TORCH_MODULE(Spade);

// OASIS's ResnetBlock_with_SPADE (spectral norm omitted: inference weights carry it folded in).
struct SpadeResBlockImpl : torch::nn::Module {
  SpadeResBlockImpl(int fin, int fout, const OasisConfig& c) : learned(fin != fout) {
    const int fm = std::min(fin, fout);
    const bool inst = c.norm == "instance";
    const int L = c.label_channels();
    conv_0 = register_module("conv_0", torch::nn::Conv2d(conv_opts(fin, fm, 3)));
    conv_1 = register_module("conv_1", torch::nn::Conv2d(conv_opts(fm, fout, 3)));
    norm_0 = register_module("norm_0", Spade(fin, L, c.spade_hidden, inst));
    norm_1 = register_module("norm_1", Spade(fm, L, c.spade_hidden, inst));
    if (learned) {
      conv_s = register_module("conv_s", torch::nn::Conv2d(conv_opts(fin, fout, 1).bias(false)));
      norm_s = register_module("norm_s", Spade(fin, L, c.spade_hidden, inst));
    }
  }
  // seg: the conditioning already at x's resolution.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& seg) {
    auto x_s = learned ? conv_s(norm_s(x, seg)) : x;
    auto dx = conv_0(lrelu(norm_0(x, seg)));
    dx = conv_1(lrelu(norm_1(dx, seg)));
    return x_s + dx;
  }
  bool learned;
  torch::nn::Conv2d conv_0{nullptr}, conv_1{nullptr}, conv_s{nullptr};
  Spade norm_0{nullptr}, norm_1{nullptr}, norm_s{nullptr};
};
TORCH_MODULE(SpadeResBlock);

torch::Tensor run_block(torch::nn::Module& m, const torch::Tensor& x, const torch::Tensor& cond) {
  return static_cast<SpadeResBlockImpl&>(m).forward(x, resize_nearest(cond, x.size(2), x.size(3)));
}

torch::Tensor image_head(torch::nn::Conv2d& conv, const torch::Tensor& x) { return torch::tanh(conv(lrelu(x))); }

struct Backbone : torch::nn::Module {
  explicit Backbone(const OasisConfig& c) {
    fc = register_module("fc", torch::nn::Conv2d(conv_opts(c.label_channels(), c.channels[0], 3)));
    for (int i = 0; i < c.num_blocks(); ++i) body->push_back(SpadeResBlock(c.channels[i], c.channels[i + 1], c));
    register_module("body", body);
    conv_img = register_module("conv_img", torch::nn::Conv2d(conv_opts(c.channels.back(), 3, 3)));
  }
  torch::nn::Conv2d fc{nullptr};
  torch::nn::ModuleList body;
  torch::nn::Conv2d conv_img{nullptr};
};

struct Branch : torch::nn::Module {
  Branch(const OasisConfig& c, int b, const std::vector<int>& widths) {
    const int gw = c.guide_width(b);
    if (gw > 0) guide = register_module("guide", torch::nn::Conv2d(conv_opts(c.guide_channels, gw, 1)));
    int in = c.attach_width(b) + gw;
    for (int w : widths) {
      blocks->push_back(SpadeResBlock(in, w, c));
      in = w;
    }
    register_module("blocks", blocks);
    conv_img = register_module("conv_img", torch::nn::Conv2d(conv_opts(in, 3, 3)));
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& cond, const torch::Tensor& g) {
    for (size_t j = 0; j < blocks->size(); ++j) {
      x = up2(x);
      if (j == 0 && guide) {
        torch::Tensor mapped;
        if (g.defined()) {
          auto r = F::interpolate(g.to(x.device(), x.scalar_type()), F::InterpolateFuncOptions()
                                                                           .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                                                           .mode(torch::kBilinear).align_corners(false));
          mapped = guide(r);
        } else {
          // No database: the guide is zeros, so the 1x1 conv gives its bias everywhere.
          mapped = guide->bias.view({1, -1, 1, 1}).expand({x.size(0), guide->bias.size(0), x.size(2), x.size(3)});
        }
        x = torch::cat({x, mapped}, 1);
      }
      x = run_block(*blocks[j], x, cond);
    }
    return image_head(conv_img, x);
  }
  torch::nn::Conv2d guide{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::Conv2d conv_img{nullptr};
};

// Table S7 (OASIS column): conv3x3 stride 2 unpadded (1024 x 8 x 16 -> 512 x 3 x 7) + ReLU,
// ResBlock(512) (two 3x3 convs, identity skip), flatten (10752), MLP with ReLU.
struct Predictor : torch::nn::Module {
  Predictor(const OasisConfig& c, int outputs) : gh(c.predictor_grid_h), gw(c.predictor_grid_w) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.front_out(), c.predictor_channels, 3).stride(2)));
    res_0 = register_module("res_0", torch::nn::Conv2d(conv_opts(c.predictor_channels, c.predictor_channels, 3)));
    res_1 = register_module("res_1", torch::nn::Conv2d(conv_opts(c.predictor_channels, c.predictor_channels, 3)));
    int in = c.predictor_channels * gh * gw;
    for (int h : c.predictor_hidden) {
      mlp->push_back(torch::nn::Linear(in, h));
      mlp->push_back(torch::nn::ReLU());
      in = h;
    }
    mlp->push_back(torch::nn::Linear(in, outputs));
    register_module("mlp", mlp);
  }
  torch::Tensor forward(torch::Tensor f) {
    // The conv sees a (2*gh+2) x (2*gw+2) map: 8 x 16 at 256x512; other sizes are pooled to it.
    const int64_t ih = 2 * gh + 2, iw = 2 * gw + 2;
    if (f.size(2) != ih || f.size(3) != iw) f = F::adaptive_avg_pool2d(f, F::AdaptiveAvgPool2dFuncOptions({ih, iw}));
    auto x = torch::relu(conv(f));
    x = torch::relu(x + res_1(torch::relu(res_0(x))));
    return mlp->forward(x.flatten(1));
  }
  int gh, gw;
  torch::nn::Conv2d conv{nullptr}, res_0{nullptr}, res_1{nullptr};
  torch::nn::Sequential mlp;
};

struct BranchSet : torch::nn::Module {
  BranchSet(const OasisConfig& c, const std::vector<std::vector<int>>& widths) {
    for (size_t b = 0; b < widths.size(); ++b) branches->push_back(std::make_shared<Branch>(c, static_cast<int>(b), widths[b]));
    register_module("branches", branches);
    predictor = register_module("predictor", std::make_shared<Predictor>(c, static_cast<int>(widths.size())));
  }
  torch::nn::ModuleList branches;
  std::shared_ptr<Predictor> predictor;
};

// ---------------------------------------------------------------- config tables

const std::map<std::string, std::vector<std::vector<int>>>& table_s8() {
  // FIANCEE Table S8, output width of each SPADE-ResBlock of branches 1-4 (min 64 channels).
  static const std::map<std::string, std::vector<std::vector<int>>> t = {
      {"1/2", {{512, 256, 128, 64, 64}, {256, 128, 64, 64}, {128, 64, 64}, {64, 64}}},
      {"1/3", {{336, 168, 84, 64, 64}, {168, 84, 64, 64}, {84, 64, 64}, {64, 64}}},
      {"1/4", {{256, 128, 64, 64, 64}, {128, 64, 64, 64}, {64, 64, 64}, {64, 64}}}};
  return t;
}

int64_t linear_macs(int64_t in, int64_t out) { return in * out; }

}  // namespace

// ---------------------------------------------------------------- OasisConfig

const std::vector<std::vector<int>>& OasisConfig::branch_widths(const std::string& sf) const {
  for (const auto& [name, set] : branches)
    if (name == sf) return set;
  std::string known;
  for (const auto& [name, set] : branches) known += (known.empty() ? "" : ", ") + name;
  throw InputError("scale factor '" + sf + "' has no branches in this OASIS model (it has " + known + ")");
}

void OasisConfig::add_scale_factor(const std::string& name) {
  const auto sf = ScaleFactor::parse(name);
  std::vector<std::vector<int>> set;
  for (int a : attach_points) {
    std::vector<int> widths;
    for (int i = a + 2; i <= num_blocks(); ++i) widths.push_back(sf.scale(channels[i], min_channels));
    set.push_back(widths);
  }
  branches.emplace_back(sf.str(), set);
}

OasisConfig OasisConfig::paper(const std::vector<std::string>& scale_factors, bool guide) {
  OasisConfig c;
  c.num_classes = 35;
  c.z_dim = 64;
  c.height = 256;
  c.width = 512;
  c.channels = {1024, 1024, 1024, 512, 256, 128, 64};
  c.spade_hidden = 128;
  c.norm = "batch";
  c.attach_points = {0, 1, 2, 3};
  c.guide_channels = guide ? 512 : 0;
  c.min_channels = 64;
  c.predictor_channels = 512;
  c.predictor_grid_h = 3;
  c.predictor_grid_w = 7;
  c.predictor_hidden = {4096, 1024, 512, 128};
  for (const auto& sf : scale_factors) {
    const auto it = table_s8().find(sf);
    if (it == table_s8().end()) throw InputError("Table S8 has no scale factor '" + sf + "' (it has 1/2, 1/3, 1/4)");
    c.branches.emplace_back(sf, it->second);
  }
  return c;
}

OasisConfig OasisConfig::scaled(int divisor, int height, int width, const std::vector<std::string>& scale_factors, bool guide,
                                int num_classes) {
  if (divisor < 1) throw InputError("OASIS scaled config: divisor must be at least 1");
  OasisConfig c = paper(scale_factors, guide);
  const auto div = [divisor](int v) { return std::max(1, v / divisor); };
  c.num_classes = num_classes;
  c.z_dim = div(c.z_dim);
  c.height = height;
  c.width = width;
  for (auto& v : c.channels) v = div(v);
  c.spade_hidden = div(c.spade_hidden);
  if (c.guide_channels > 0) c.guide_channels = div(c.guide_channels);
  c.min_channels = div(c.min_channels);
  c.predictor_channels = div(c.predictor_channels);
  for (auto& v : c.predictor_hidden) v = div(v);
  for (auto& [sf, set] : c.branches)
    for (auto& chain : set)
      for (auto& v : chain) v = div(v);
  try {
    from_json(c.to_json(), "OasisConfig::scaled");
  } catch (const PackageError& e) {
    throw InputError(e.what());
  }
  return c;
}

OasisConfig OasisConfig::from_json(const json& j, const std::string& origin) {
  JsonReader r(j, origin, "architecture");
  if (r.has("family")) r.choice("family", {"oasis"});
  OasisConfig c;
  c.num_classes = r.integer("num_classes", 1, kMaxChannels);
  c.z_dim = r.integer("z_dim", 0, kMaxChannels);
  c.channels = r.ints("channels", 1, kMaxChannels);
  // A branch replaces at least the last block, so there are two; past 16 the
  // start size 2^(blocks-1) is beyond any image side.
  if (c.channels.size() < 3 || c.channels.size() > 17)
    r.fail_at("channels", "must list the first conv's width and 2 to 16 blocks' widths, found " +
                              std::to_string(c.channels.size()) + " widths");
  const int nb = c.num_blocks();
  const int mult = 1 << (nb - 1);
  c.height = r.integer("height", 1, kMaxSide);
  c.width = r.integer("width", 1, kMaxSide);
  const std::string multiple = "must be a multiple of " + std::to_string(mult) + " (2^(blocks-1)), found ";
  if (c.height % mult != 0) r.fail_at("height", multiple + std::to_string(c.height));
  if (c.width % mult != 0) r.fail_at("width", multiple + std::to_string(c.width));
  c.spade_hidden = r.integer("spade_hidden", 1, kMaxChannels);
  c.norm = r.choice("norm", {"batch", "instance"});
  c.attach_points = r.ints("attach_points", 0, nb - 2);
  if (c.attach_points.empty()) r.fail_at("attach_points", "must list at least one branch");
  for (size_t b = 1; b < c.attach_points.size(); ++b)
    if (c.attach_points[b] <= c.attach_points[b - 1])
      r.fail_at("attach_points[" + std::to_string(b) + "]", "must be above the attach point before it (strictly increasing)");
  c.guide_channels = r.integer("guide_channels", 0, kMaxChannels);
  c.min_channels = r.integer("min_channels", 1, kMaxChannels);
  c.predictor_channels = r.integer("predictor_channels", 1, kMaxChannels);
  const auto grid = r.ints("predictor_grid", 1, kMaxSide);
  if (grid.size() != 2) r.fail_at("predictor_grid", "must be [height, width], found " + std::to_string(grid.size()) + " entries");
  c.predictor_grid_h = grid[0];
  c.predictor_grid_w = grid[1];
  c.predictor_hidden = r.ints("predictor_hidden", 1, kMaxChannels);
  for (const auto& [sf, set] : scale_factor_map(r, "branches")) {
    const auto lists = set.items(c.attach_points.size(), "one per attach point");
    std::vector<std::vector<int>> widths;
    for (size_t b = 0; b < lists.size(); ++b) {
      widths.push_back(lists[b].as_ints(1, kMaxChannels));
      const auto len = static_cast<size_t>(nb - 1 - c.attach_points[b]);
      if (widths.back().size() != len)
        lists[b].fail("must hold " + std::to_string(len) + " widths (one per backbone block after its attach point), found " +
                      std::to_string(widths.back().size()));
    }
    c.branches.emplace_back(sf, std::move(widths));
  }
  r.finish();
  return c;
}

json OasisConfig::to_json() const {
  json j;
  j["family"] = "oasis";
  j["num_classes"] = num_classes;
  j["z_dim"] = z_dim;
  j["height"] = height;
  j["width"] = width;
  j["channels"] = channels;
  j["spade_hidden"] = spade_hidden;
  j["norm"] = norm;
  j["attach_points"] = attach_points;
  j["guide_channels"] = guide_channels;
  j["min_channels"] = min_channels;
  j["predictor_channels"] = predictor_channels;
  j["predictor_grid"] = {predictor_grid_h, predictor_grid_w};
  j["predictor_hidden"] = predictor_hidden;
  j["branches"] = json::object();
  for (const auto& [sf, set] : branches) j["branches"][sf] = set;
  return j;
}

int64_t spade_resblock_macs(int64_t fin, int64_t fout, int64_t L, int64_t hidden, int64_t h, int64_t w, bool count_spade) {
  const int64_t fm = std::min(fin, fout);
  const auto spade = [&](int64_t norm_nc) {
    return count_spade ? conv_macs(L, hidden, 3, h, w) + 2 * conv_macs(hidden, norm_nc, 3, h, w) : 0;
  };
  int64_t m = conv_macs(fin, fm, 3, h, w) + conv_macs(fm, fout, 3, h, w) + spade(fin) + spade(fm);
  if (fin != fout) m += conv_macs(fin, fout, 1, h, w) + spade(fin);
  return m;
}

int64_t OasisConfig::first_conv_macs(int64_t h, int64_t w) const {
  return conv_macs(label_channels(), channels.at(0), 3, h >> (num_blocks() - 1), w >> (num_blocks() - 1));
}

std::vector<double> OasisConfig::route_gflops(const std::string& sf, int64_t H, int64_t W, bool count_spade) const {
  const int nb = num_blocks();
  const int64_t mult = int64_t{1} << (nb - 1);
  if (H < mult || W < mult || H % mult != 0 || W % mult != 0)
    throw InputError("OASIS output " + std::to_string(H) + "x" + std::to_string(W) + " is not a multiple of " + std::to_string(mult));
  const auto& set = branch_widths(sf);
  const int64_t L = label_channels();
  const auto res_h = [&](int block) { return (H / mult) << (block - 1); };  // block in 1..nb
  const auto res_w = [&](int block) { return (W / mult) << (block - 1); };
  int64_t macs = first_conv_macs(H, W);
  std::vector<int64_t> after;  // after[a] = cost through the front (a = 0) or stage a
  for (int i = 1; i <= nb; ++i) {
    macs += spade_resblock_macs(channels[i - 1], channels[i], L, spade_hidden, res_h(i), res_w(i), count_spade);
    after.push_back(macs);
  }
  const auto to_g = [](int64_t m) { return static_cast<double>(m) / 1e9; };
  std::vector<double> out;
  for (size_t b = 0; b < set.size(); ++b) {
    const int a = attach_points[b];
    int64_t m = after[a];
    const int gw = guide_width(static_cast<int>(b));
    int64_t in = attach_width(static_cast<int>(b)) + gw;
    if (gw > 0) m += conv_macs(guide_channels, gw, 1, res_h(a + 2), res_w(a + 2));
    for (size_t j = 0; j < set[b].size(); ++j) {
      const int block = a + 2 + static_cast<int>(j);
      m += spade_resblock_macs(in, set[b][j], L, spade_hidden, res_h(block), res_w(block), count_spade);
      in = set[b][j];
    }
    m += conv_macs(in, 3, 3, H, W);
    out.push_back(to_g(m));
  }
  out.push_back(to_g(macs + conv_macs(channels.back(), 3, 3, H, W)));
  return out;
}

double OasisConfig::predictor_gflops() const {
  const int64_t g = int64_t{predictor_grid_h} * predictor_grid_w, pc = predictor_channels;
  int64_t m = conv_macs(front_out(), pc, 3, predictor_grid_h, predictor_grid_w) + 2 * conv_macs(pc, pc, 3, predictor_grid_h, predictor_grid_w);
  int64_t in = pc * g;
  for (int h : predictor_hidden) m += linear_macs(in, h), in = h;
  m += linear_macs(in, static_cast<int64_t>(attach_points.size()));
  return static_cast<double>(m) / 1e9;
}

int64_t OasisConfig::backbone_parameters() const {
  const int64_t L = label_channels();
  int64_t p = conv_params(L, channels[0], 3) + conv_params(channels.back(), 3, 3);
  for (int i = 1; i <= num_blocks(); ++i) p += spade_resblock_params(channels[i - 1], channels[i], L, spade_hidden);
  return p;
}

int64_t OasisConfig::branch_parameters(const std::string& sf) const {
  const auto& set = branch_widths(sf);
  int64_t p = 0;
  for (size_t b = 0; b < set.size(); ++b) {
    const int gw = guide_width(static_cast<int>(b));
    if (gw > 0) p += conv_params(guide_channels, gw, 1);
    int64_t in = attach_width(static_cast<int>(b)) + gw;
    for (int w : set[b]) p += spade_resblock_params(in, w, label_channels(), spade_hidden), in = w;
    p += conv_params(in, 3, 3);
  }
  return p;
}

int64_t OasisConfig::predictor_parameters() const {
  const int64_t pc = predictor_channels;
  int64_t p = conv_params(front_out(), pc, 3) + 2 * conv_params(pc, pc, 3);
  int64_t in = pc * predictor_grid_h * predictor_grid_w;
  for (int h : predictor_hidden) p += in * h + h, in = h;
  return p + in * static_cast<int64_t>(attach_points.size()) + static_cast<int64_t>(attach_points.size());
}

// ---------------------------------------------------------------- free helpers

torch::Tensor oasis_input(const torch::Tensor& labels, const torch::Tensor& z, int num_classes) {
  if (!labels.defined() || labels.dim() != 3) throw InputError("OASIS labels must be [N,H,W] class ids");
  auto ids = labels.to(torch::kLong);
  if (ids.numel() > 0 && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= num_classes))
    throw InputError("OASIS label ids must lie in [0, " + std::to_string(num_classes) + ")");
  auto onehot = torch::one_hot(ids, num_classes).permute({0, 3, 1, 2}).to(torch::kFloat);
  if (!z.defined() || z.size(1) == 0) return onehot;
  if (z.dim() != 2 || z.size(0) != labels.size(0))
    throw InputError("OASIS noise must be [N, z_dim] with N = " + std::to_string(labels.size(0)) + ", got " + shape_str(z));
  auto zz = z.to(onehot.device(), torch::kFloat).view({z.size(0), z.size(1), 1, 1}).expand({z.size(0), z.size(1), labels.size(1), labels.size(2)});
  return torch::cat({zz, onehot}, 1);
}

torch::Tensor cut_patches(const torch::Tensor& f, int64_t gh, int64_t gw) {
  if (f.dim() != 4 || gh < 1 || gw < 1 || f.size(2) % gh != 0 || f.size(3) % gw != 0)
    throw InputError("cannot cut a " + shape_str(f) + " map into a " + std::to_string(gh) + "x" + std::to_string(gw) + " grid");
  const int64_t n = f.size(0), c = f.size(1), ph = f.size(2) / gh, pw = f.size(3) / gw;
  return f.reshape({n, c, gh, ph, gw, pw}).permute({0, 2, 4, 1, 3, 5}).reshape({n * gh * gw, c, ph, pw});
}

torch::Tensor glue_patches(const torch::Tensor& p, int64_t gh, int64_t gw) {
  if (p.dim() != 4 || gh < 1 || gw < 1 || p.size(0) % (gh * gw) != 0)
    throw InputError("cannot glue patches " + shape_str(p) + " into a " + std::to_string(gh) + "x" + std::to_string(gw) + " grid");
  const int64_t n = p.size(0) / (gh * gw), c = p.size(1), ph = p.size(2), pw = p.size(3);
  return p.reshape({n, gh, gw, c, ph, pw}).permute({0, 3, 1, 4, 2, 5}).reshape({n, c, gh * ph, gw * pw});
}

// ---------------------------------------------------------------- OasisGraph

struct OasisGraph::Impl {
  std::shared_ptr<Backbone> backbone;
};

OasisGraph::OasisGraph(OasisConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>()) {
  // Code-built configs get exactly the checks a package's gets.
  OasisConfig::from_json(config_.to_json(), "OasisGraph");
  impl_->backbone = std::make_shared<Backbone>(config_);
  ModuleSets sets;
  for (const auto& [sf, widths] : config_.branches) sets.emplace_back(sf, std::make_shared<BranchSet>(config_, widths));
  set_modules(impl_->backbone, std::move(sets));
}

OasisGraph::~OasisGraph() = default;

int OasisGraph::num_stages() const { return config_.num_blocks() - 1; }
int OasisGraph::num_branches() const { return static_cast<int>(config_.attach_points.size()); }
int OasisGraph::attach_point(int b) const { return config_.attach_points.at(b); }

namespace {

struct Unpacked {
  torch::Tensor features, conditioning;
};

Unpacked unpack(const OasisConfig& c, const torch::Tensor& x, int expected_channels, const char* part) {
  const auto bad = [&](const std::string& why) {
    throw InputError(std::string("OASIS ") + part + ": input " + shape_str(x) + " " + why);
  };
  if (!x.defined() || x.dim() != 4) bad("is not a [N,C,h,w] tensor from the previous OASIS part");
  if (x.size(2) < 1 || c.height % x.size(2) != 0 || c.width % x.size(3) != 0 || c.height / x.size(2) != c.width / x.size(3))
    bad("does not divide the " + std::to_string(c.height) + "x" + std::to_string(c.width) + " output");
  const int64_t r = c.height / x.size(2);
  const int64_t packed = int64_t{c.label_channels()} * r * r;
  if (x.size(1) != expected_channels + packed)
    bad("should hold " + std::to_string(expected_channels) + " feature channels plus the conditioning (" + std::to_string(packed) + ")");
  return {x.narrow(1, 0, expected_channels), F::pixel_shuffle(x.narrow(1, expected_channels, packed), r)};
}

torch::Tensor pack(const torch::Tensor& features, const torch::Tensor& cond) {
  const int64_t r = cond.size(2) / features.size(2);
  return torch::cat({features, r == 1 ? cond : F::pixel_unshuffle(cond, r)}, 1);
}

}  // namespace

torch::Tensor OasisGraph::features(const torch::Tensor& x) const {
  if (!x.defined() || x.dim() != 4 || x.size(2) < 1 || config_.height % x.size(2) != 0)
    throw InputError("OASIS: " + shape_str(x) + " is not a tensor passed between OASIS parts");
  const int64_t r = config_.height / x.size(2);
  const int64_t c = x.size(1) - int64_t{config_.label_channels()} * r * r;
  if (c < 1) throw InputError("OASIS: " + shape_str(x) + " holds no features");
  return x.narrow(1, 0, c);
}

torch::Tensor OasisGraph::conditioning(const torch::Tensor& x) const {
  const int64_t c = features(x).size(1);
  return F::pixel_shuffle(x.narrow(1, c, x.size(1) - c), config_.height / x.size(2));
}

torch::Tensor OasisGraph::front(const torch::Tensor& input) {
  const int L = config_.label_channels();
  if (!input.defined() || input.dim() != 4 || input.size(1) != L || input.size(2) != config_.height || input.size(3) != config_.width)
    throw InputError("OASIS input must be [N, " + std::to_string(L) + " (noise " + std::to_string(config_.z_dim) + " + classes " +
                     std::to_string(config_.num_classes) + "), " + std::to_string(config_.height) + ", " + std::to_string(config_.width) +
                     "], got " + (input.defined() ? shape_str(input) : std::string("nothing")));
  const auto& bb = *impl_->backbone;
  const auto& w = bb.fc->weight;
  auto cond = input.to(w.device(), w.scalar_type());
  auto seg0 = resize_nearest(cond, config_.start_height(), config_.start_width());
  auto x = impl_->backbone->fc(seg0);
  x = static_cast<SpadeResBlockImpl&>(*impl_->backbone->body[0]).forward(x, seg0);
  return pack(x, cond);
}

torch::Tensor OasisGraph::stage(int k, const torch::Tensor& x) {
  if (k < 1 || k > num_stages()) throw InputError("OASIS has stages 1.." + std::to_string(num_stages()) + ", not " + std::to_string(k));
  auto u = unpack(config_, x, config_.channels[k], "stage");
  auto f = run_block(*impl_->backbone->body[k], up2(u.features), u.conditioning);
  return pack(f, u.conditioning);
}

torch::Tensor OasisGraph::head(const torch::Tensor& x) {
  auto u = unpack(config_, x, config_.channels.back(), "head");
  if (u.features.size(2) != config_.height) throw InputError("OASIS head: features are not at the output resolution");
  return image_head(impl_->backbone->conv_img, u.features);
}

torch::Tensor OasisGraph::branch(const std::string& sf, int b, const torch::Tensor& x, const torch::Tensor& guide) {
  auto& set = branch_set<BranchSet>(sf);
  if (b < 0 || b >= num_branches()) throw InputError("OASIS has branches 0.." + std::to_string(num_branches() - 1) + ", not " + std::to_string(b));
  auto u = unpack(config_, x, config_.attach_width(b), "branch");
  if (config_.guide_channels > 0 && guide.defined() && (guide.dim() != 4 || guide.size(1) != config_.guide_channels || guide.size(0) != x.size(0)))
    throw InputError("OASIS guide must be [" + std::to_string(x.size(0)) + ", " + std::to_string(config_.guide_channels) + ", h, w], got " +
                     shape_str(guide));
  return set.branches[b]->as<Branch>()->forward(u.features, u.conditioning, config_.guide_channels > 0 ? guide : torch::Tensor());
}

torch::Tensor OasisGraph::predict(const std::string& sf, const torch::Tensor& front_features, const torch::Tensor&) {
  auto& set = branch_set<BranchSet>(sf);
  auto f = front_features.size(1) == config_.front_out() ? front_features : features(front_features);
  if (f.dim() != 4 || f.size(1) != config_.front_out())
    throw InputError("OASIS predictor needs the front's " + std::to_string(config_.front_out()) + " feature channels, got " + shape_str(front_features));
  return set.predictor->forward(f);
}

GuideQuery OasisGraph::guide_query(const torch::Tensor& front_out) {
  if (config_.guide_channels == 0) return {};
  auto f = features(front_out);
  if (f.size(1) != config_.front_out()) throw InputError("OASIS guide query needs the front's output, got " + shape_str(front_out));
  // Majority class per cell: the one-hot label channels (after the noise) pooled over the cell.
  auto onehot = conditioning(front_out).narrow(1, config_.z_dim, config_.num_classes);
  auto share = F::adaptive_avg_pool2d(onehot, F::AdaptiveAvgPool2dFuncOptions({f.size(2), f.size(3)}));
  return {f.permute({0, 2, 3, 1}).reshape({-1, f.size(1)}), share.argmax(1).reshape({-1})};
}

torch::Tensor OasisGraph::guide_from_values(const torch::Tensor& values, int64_t frames) {
  const int64_t gh = config_.start_height(), gw = config_.start_width();
  if (values.dim() != 4 || values.size(0) != frames * gh * gw || values.size(1) != config_.guide_channels)
    throw InputError("OASIS guide values must be [" + std::to_string(frames * gh * gw) + ", " + std::to_string(config_.guide_channels) +
                     ", ph, pw], got " + shape_str(values));
  return glue_patches(values.to(torch::kFloat), gh, gw);
}

OasisGraph::GuideEntries OasisGraph::guide_entries(const torch::Tensor& front_out, const torch::Tensor& stage2_out) {
  if (config_.guide_channels == 0 || config_.num_blocks() < 3 || config_.channels[3] != config_.guide_channels)
    throw InputError("OASIS guide database: the architecture's guide_channels (" + std::to_string(config_.guide_channels) +
                     ") must equal block 3's width (" + std::to_string(config_.num_blocks() >= 3 ? config_.channels[3] : 0) + ")");
  auto query = guide_query(front_out);
  auto values = cut_patches(features(stage2_out), config_.start_height(), config_.start_width());
  return {query.keys, query.labels, values};
}

// ---------------------------------------------------------------- discriminator

namespace {

struct PatchD : torch::nn::Module {
  PatchD(int in, const OasisDiscriminatorConfig& c) {
    int nf = c.base_channels;
    const auto conv4 = [](int i, int o, int stride) { return torch::nn::Conv2d(torch::nn::Conv2dOptions(i, o, 4).stride(stride).padding(2)); };
    const auto act = [] { return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)); };
    layers->push_back(torch::nn::Sequential(conv4(in, nf, 2), act()));
    for (int n = 1; n < c.layers; ++n) {
      const int prev = nf;
      nf = std::min(nf * 2, c.max_channels);
      layers->push_back(torch::nn::Sequential(conv4(prev, nf, n == c.layers - 1 ? 1 : 2),
                                              torch::nn::InstanceNorm2d(torch::nn::InstanceNormOptions(nf)), act()));
    }
    register_module("layers", layers);
    out = register_module("out", conv4(nf, 1, 1));
  }
  DiscriminatorScale forward(torch::Tensor x) {
    DiscriminatorScale s;
    for (auto& layer : *layers) {
      x = layer->as<torch::nn::Sequential>()->forward(x);
      s.features.push_back(x);
    }
    s.output = out(x);
    return s;
  }
  torch::nn::ModuleList layers;
  torch::nn::Conv2d out{nullptr};
};

struct MultiScaleD : torch::nn::Module {
  explicit MultiScaleD(const OasisDiscriminatorConfig& c) {
    for (int s = 0; s < c.scales; ++s) scales->push_back(std::make_shared<PatchD>(c.image_channels + c.label_channels, c));
    register_module("scales", scales);
  }
  torch::nn::ModuleList scales;
};

}  // namespace

struct OasisDiscriminator::Impl {
  std::shared_ptr<MultiScaleD> net;
};

OasisDiscriminator::OasisDiscriminator(OasisDiscriminatorConfig config) : config_(config), impl_(std::make_unique<Impl>()) {
  if (config_.image_channels < 1 || config_.label_channels < 0 || config_.base_channels < 1 || config_.max_channels < 1 || config_.layers < 1 ||
      config_.scales < 1)
    throw InputError("OASIS discriminator: channel counts, layers and scales must be positive");
  impl_->net = std::make_shared<MultiScaleD>(config_);
}

OasisDiscriminator::~OasisDiscriminator() = default;

std::vector<DiscriminatorScale> OasisDiscriminator::forward(const torch::Tensor& image, const torch::Tensor& labels) {
  if (!image.defined() || image.dim() != 4 || image.size(1) != config_.image_channels)
    throw InputError("OASIS discriminator: image must be [N, " + std::to_string(config_.image_channels) + ", H, W]");
  torch::Tensor x = image;
  if (config_.label_channels > 0) {
    if (!labels.defined() || labels.dim() != 4 || labels.size(1) != config_.label_channels || labels.size(0) != image.size(0) ||
        labels.size(2) != image.size(2) || labels.size(3) != image.size(3))
      throw InputError("OASIS discriminator: labels must be [N, " + std::to_string(config_.label_channels) + ", H, W] like the image " +
                       shape_str(image));
    x = torch::cat({image, labels.to(image.scalar_type())}, 1);
  }
  std::vector<DiscriminatorScale> out;
  for (size_t s = 0; s < impl_->net->scales->size(); ++s) {
    if (s > 0)
      x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(2).padding(1).count_include_pad(false));
    out.push_back(impl_->net->scales[s]->as<PatchD>()->forward(x));
  }
  return out;
}

torch::nn::Module& OasisDiscriminator::module() { return *impl_->net; }

safetensors::TensorMap OasisDiscriminator::state() const { return state_of(*impl_->net); }

void OasisDiscriminator::load(const safetensors::TensorMap& tensors, const std::string& origin) {
  load_state(*impl_->net, tensors, "", origin);
}

}  // namespace fiancee::models
