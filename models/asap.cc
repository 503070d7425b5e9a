#include "models/asap.h"

#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/errors.h"
#include "core/json_reader.h"
#include "core/scale_factor.h"
#include "models/blocks.h"
#include "models/state_dict.h"

namespace fiancee::models {

namespace F = torch::nn::functional;
using nlohmann::json;

namespace {

constexpr double kPi = 3.14159265358979323846;

bool power_of_two(int v) { return v > 0 && (v & (v - 1)) == 0; }

int log2_int(int v) {
  int n = 0;
  while (v > 1) v >>= 1, ++n;
  return n;
}

int64_t half_up(int64_t n) { return (n + 1) / 2; }  // 3x3 conv, stride 2, padding 1

// Layer widths of a pixelwise MLP: input, hidden x n, output.
std::vector<int> mlp_channels(int in, int width, int hidden, int out) {
  std::vector<int> c{in};
  for (int i = 0; i < hidden; ++i) c.push_back(width);
  c.push_back(out);
  return c;
}

// Conv 3x3 (reflection padding) - InstanceNorm (affine) - ReLU: the supplement's CkSs.
struct ConvNormRelu : torch::nn::Module {
  ConvNormRelu(int in, int out, int stride) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1)
                                                         .padding_mode(torch::kReflect)));
    norm = register_module("norm", torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(out).affine(true)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(norm(conv(x))); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::InstanceNorm2d norm{nullptr};
};

torch::Tensor run(torch::nn::ModuleList& list, size_t i, const torch::Tensor& x) {
  return list[i]->as<ConvNormRelu>()->forward(x);
}

// Separable tent ("bilinear") filter with stride f: the low-res network's input.
torch::Tensor tent_downsample(const torch::Tensor& x, int f) {
  if (f == 1) return x;
  std::vector<float> k;
  for (int i = 0; i < f; ++i) k.push_back(static_cast<float>(2 * i + 1));
  for (int i = f - 1; i >= 0; --i) k.push_back(static_cast<float>(2 * i + 1));
  auto kernel = torch::tensor(k).to(x.device(), x.scalar_type());
  kernel = kernel / kernel.sum();
  const int64_t c = x.size(1), n = 2 * f;
  auto kh = kernel.view({1, 1, 1, n}).repeat({c, 1, 1, 1});
  auto kv = kernel.view({1, 1, n, 1}).repeat({c, 1, 1, 1});
  auto y = F::pad(x, F::PadFuncOptions({f / 2, f / 2, f / 2, f / 2}).mode(torch::kReflect));
  y = F::conv2d(y, kh, F::Conv2dFuncOptions().stride({1, f}).groups(c));
  return F::conv2d(y, kv, F::Conv2dFuncOptions().stride({f, 1}).groups(c));
}

// [N,C,H,W] -> [N, C*S*S, H/S, W/S]: channel (c, sy, sx) of cell (i, j) is pixel (i*S+sy, j*S+sx).
torch::Tensor pack_tiles(const torch::Tensor& x, int64_t s) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2) / s, w = x.size(3) / s;
  return x.reshape({n, c, h, s, w, s}).permute({0, 1, 3, 5, 2, 4}).reshape({n, c * s * s, h, w});
}

// [N, C*S*S, h, w] -> [N, h, w, S*S, C]: the pixels of each cell as rows for the matrix products.
torch::Tensor tiles_rows(const torch::Tensor& packed, int64_t c, int64_t s) {
  const int64_t n = packed.size(0), h = packed.size(2), w = packed.size(3);
  return packed.reshape({n, c, s * s, h, w}).permute({0, 3, 4, 2, 1});
}

// [N, h, w, S*S, C] -> [N, C, h*S, w*S].
torch::Tensor untile(const torch::Tensor& rows, int64_t s) {
  const int64_t n = rows.size(0), h = rows.size(1), w = rows.size(2), c = rows.size(4);
  return rows.reshape({n, h, w, s, s, c}).permute({0, 5, 1, 3, 2, 4}).reshape({n, c, h * s, w * s});
}

// Positional encoding of the S*S pixels of a cell: for periods f = S, S/2, ..., 2 pixels,
// cos and sin of 2*pi*x/f and of 2*pi*y/f. The periods divide S, so the encoding of a pixel
// depends only on its place in its cell: [S*S, 4*log2(S)].
torch::Tensor cell_encoding(int64_t s, const torch::TensorOptions& options) {
  std::vector<torch::Tensor> cols;
  auto idx = torch::arange(s * s, torch::TensorOptions().dtype(torch::kDouble));
  auto y = torch::floor(idx / static_cast<double>(s)), x = idx - y * static_cast<double>(s);
  for (int64_t f = s; f > 1; f /= 2) {
    const double k = 2 * kPi / static_cast<double>(f);
    cols.push_back(torch::cos(k * x));
    cols.push_back(torch::sin(k * x));
    cols.push_back(torch::cos(k * y));
    cols.push_back(torch::sin(k * y));
  }
  if (cols.empty()) return torch::zeros({s * s, 0}, options);
  return torch::stack(cols, 1).to(options);
}

// The per-cell MLPs: rows [N,h,w,T,C_in] through the layers whose parameters `params`
// [N,P,h,w] holds per cell, each layer as bias (C_out) then weight (C_in x C_out, row-major).
torch::Tensor pixelwise_mlp(torch::Tensor rows, const torch::Tensor& params, const std::vector<int>& chans) {
  const int64_t n = params.size(0), h = params.size(2), w = params.size(3);
  auto p = params.permute({0, 2, 3, 1});
  int64_t off = 0;
  const size_t layers = chans.size() - 1;
  for (size_t l = 0; l < layers; ++l) {
    const int64_t ci = chans[l], co = chans[l + 1];
    auto bias = p.narrow(3, off, co).unsqueeze(3);
    off += co;
    auto weight = p.narrow(3, off, ci * co).reshape({n, h, w, ci, co});
    off += ci * co;
    rows = torch::matmul(rows, weight) + bias;
    rows = l + 1 < layers ? F::leaky_relu(rows, F::LeakyReLUFuncOptions().negative_slope(0.01)) : torch::tanh(rows);
  }
  return rows;
}

struct Backbone : torch::nn::Module {
  explicit Backbone(const AsapConfig& c) {
    int in = c.input_channels();
    for (size_t i = 0; i < c.lr_channels.size(); ++i) {
      front->push_back(std::make_shared<ConvNormRelu>(in, c.lr_channels[i], i == 0 ? 1 : 2));
      in = c.lr_channels[i];
    }
    for (int k = 0; k < c.num_stages; ++k) stages->push_back(std::make_shared<ConvNormRelu>(in, in, 1));
    weights = torch::nn::Conv2d(torch::nn::Conv2dOptions(in, c.mlp_params(c.mlp_width, c.mlp_hidden), 1));
    register_module("front", front);
    register_module("stages", stages);
    register_module("weights", weights);
  }
  torch::nn::ModuleList front, stages;
  torch::nn::Conv2d weights{nullptr};  // the 1x1 weight-prediction conv
};

struct Branch : torch::nn::Module {
  Branch(const AsapConfig& c, const AsapBranchSpec& s)
      : guide_channels(c.guide_channels), chans(mlp_channels(c.mlp_in(), s.mlp_width, s.mlp_hidden, c.out_channels)) {
    adapter = register_module("adapter", std::make_shared<ConvNormRelu>(c.lr_width() + c.guide_channels, s.adapter, 1));
    weights = register_module("weights", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.adapter, c.mlp_params(s.mlp_width, s.mlp_hidden), 1)));
  }
  int guide_channels;
  std::vector<int> chans;
  std::shared_ptr<ConvNormRelu> adapter;
  torch::nn::Conv2d weights{nullptr};
};

struct BranchSet : torch::nn::Module {
  BranchSet(const AsapConfig& c, const std::vector<AsapBranchSpec>& specs) {
    for (const auto& s : specs) branches->push_back(std::make_shared<Branch>(c, s));
    register_module("branches", branches);
    predictor = mlp_predictor(c.lr_width() * c.predictor_grid * c.predictor_grid + c.key_dim, c.predictor_hidden, static_cast<int64_t>(specs.size()));
    register_module("predictor", predictor);
  }
  torch::nn::ModuleList branches;
  torch::nn::Sequential predictor;
};

}  // namespace

// --- AsapConfig --------------------------------------------------------------

int AsapConfig::downsampling() const {
  int s = input_downsample;
  for (size_t i = 1; i < lr_channels.size(); ++i) s *= 2;
  return s;
}

int AsapConfig::pe_channels() const { return 4 * log2_int(downsampling()); }

int64_t AsapConfig::mlp_params(int width, int hidden) const {
  const auto c = mlp_channels(mlp_in(), width, hidden, out_channels);
  int64_t n = 0;
  for (size_t l = 0; l + 1 < c.size(); ++l) n += static_cast<int64_t>(c[l]) * c[l + 1] + c[l + 1];
  return n;
}

int64_t AsapConfig::mlp_macs_per_pixel(int width, int hidden) const {
  const auto c = mlp_channels(mlp_in(), width, hidden, out_channels);
  int64_t n = 0;
  for (size_t l = 0; l + 1 < c.size(); ++l) n += static_cast<int64_t>(c[l]) * c[l + 1];
  return n;
}

void AsapConfig::add_scale_factor(const std::string& name) {
  const auto sf = ScaleFactor::parse(name);
  if (branch_mlp_hidden.size() != attach_points.size())
    throw InputError("ASAP config: branch_mlp_hidden needs one entry per attach point to add scale factor " + name);
  std::vector<AsapBranchSpec> set;
  for (size_t b = 0; b < attach_points.size(); ++b)
    set.push_back({sf.scale(lr_width(), min_adapter_channels), sf.scale(mlp_width, min_mlp_channels), branch_mlp_hidden[b]});
  branches.emplace_back(sf.str(), set);
}

// Code-built configs get exactly the checks a package's gets.
void AsapConfig::validate(const std::string& origin) const { from_json(to_json(), origin); }

AsapConfig AsapConfig::paper(const std::vector<std::string>& scale_factors) {
  AsapConfig c;
  c.num_classes = 35;       // Cityscapes label ids
  c.extra_lr_channels = 1;  // instance edge map, low-res network only (official lr_instance)
  c.input_downsample = 1;   // crop 512 / (16 * aspect 2) = 16 = learned factor: no bilinear step
  c.lr_channels = {64, 64, 64, 64, 1024};
  c.num_stages = 7;
  c.mlp_width = 64;
  c.mlp_hidden = 4;
  c.out_channels = 3;
  c.predictor_grid = 2;
  c.predictor_hidden = {256, 64};
  c.min_adapter_channels = 64;
  c.min_mlp_channels = 16;
  c.attach_points = {1, 3, 5};
  c.branch_mlp_hidden = {2, 3, 4};
  for (const auto& sf : scale_factors) c.add_scale_factor(sf);
  return c;
}

AsapConfig AsapConfig::paper_as_listed(const std::vector<std::string>& scale_factors) {
  AsapConfig c = paper({});
  c.lr_channels = {64, 64, 64, 64, 64, 1024};
  c.num_stages = 6;
  for (const auto& sf : scale_factors) c.add_scale_factor(sf);
  return c;
}

AsapConfig AsapConfig::tiny(const std::vector<std::string>& scale_factors) {
  AsapConfig c;
  c.num_classes = 5;
  c.extra_lr_channels = 1;
  c.input_downsample = 1;
  c.lr_channels = {8, 8, 16};  // S = 4
  c.num_stages = 4;
  c.mlp_width = 8;
  c.mlp_hidden = 2;
  c.predictor_grid = 2;
  c.predictor_hidden = {16};
  c.min_adapter_channels = 4;
  c.min_mlp_channels = 4;
  c.attach_points = {1, 2, 3};
  c.branch_mlp_hidden = {1, 1, 2};
  for (const auto& sf : scale_factors) c.add_scale_factor(sf);
  return c;
}

AsapConfig AsapConfig::from_json(const json& j, const std::string& origin) {
  JsonReader r(j, origin, "architecture");
  if (r.has("family")) r.choice("family", {"asap"});
  AsapConfig c;
  c.num_classes = r.integer("num_classes", 1, kMaxChannels);
  c.extra_lr_channels = r.integer("extra_lr_channels", 0, kMaxChannels);
  c.input_downsample = r.integer("input_downsample", 1, kMaxSide);
  if (!power_of_two(c.input_downsample))
    r.fail_at("input_downsample", "must be a power of 2 (1 = none), found " + std::to_string(c.input_downsample));
  c.lr_channels = r.ints("lr_channels", 1, kMaxChannels);
  if (c.lr_channels.empty()) r.fail_at("lr_channels", "must list at least the first conv's width");
  // Checked on the length first: every conv after the first doubles S, which could overflow.
  if (c.lr_channels.size() > 11 || c.downsampling() > 1024)
    r.fail_at("lr_channels", "has, with input_downsample, a downsampling above 1024");
  c.num_stages = r.integer("num_stages", 0, kMaxDepth);
  c.mlp_width = r.integer("mlp_width", 1, kMaxChannels);
  c.mlp_hidden = r.integer("mlp_hidden", 1, kMaxDepth);
  c.out_channels = r.integer("out_channels", 1, kMaxChannels);
  c.guide_channels = r.integer("guide_channels", 0, kMaxChannels);
  c.key_dim = r.integer("key_dim", 0, kMaxChannels);
  c.predictor_grid = r.integer("predictor_grid", 1, kMaxSide);
  c.predictor_hidden = r.ints("predictor_hidden", 1, kMaxChannels);
  c.min_adapter_channels = r.integer("min_adapter_channels", 1, kMaxChannels);
  c.min_mlp_channels = r.integer("min_mlp_channels", 1, kMaxChannels);
  c.attach_points = r.ints("attach_points", 0, c.num_stages);
  c.branch_mlp_hidden = r.ints("branch_mlp_hidden", 1, kMaxDepth);
  if (!c.branch_mlp_hidden.empty() && c.branch_mlp_hidden.size() != c.attach_points.size())
    r.fail_at("branch_mlp_hidden", "must be empty or hold one entry per attach point (" + std::to_string(c.attach_points.size()) +
                                       "), found " + std::to_string(c.branch_mlp_hidden.size()));
  // A list, not a map: the order of the scale factors is the manifest's order.
  for (auto& [sf, entry] : scale_factor_list(r, "branches", "scale_factor")) {
    std::vector<AsapBranchSpec> specs;
    for (JsonReader e : entry.array("exits").items(c.attach_points.size(), "one per attach point")) {
      AsapBranchSpec s;
      s.adapter = e.integer("adapter", 1, kMaxChannels);
      s.mlp_width = e.integer("mlp_width", 1, kMaxChannels);
      s.mlp_hidden = e.integer("mlp_hidden", 1, kMaxDepth);
      e.finish();
      specs.push_back(s);
    }
    entry.finish();
    c.branches.emplace_back(sf, specs);
  }
  r.finish();
  return c;
}

json AsapConfig::to_json() const {
  json j;
  j["family"] = "asap";
  j["num_classes"] = num_classes;
  j["extra_lr_channels"] = extra_lr_channels;
  j["input_downsample"] = input_downsample;
  j["lr_channels"] = lr_channels;
  j["num_stages"] = num_stages;
  j["mlp_width"] = mlp_width;
  j["mlp_hidden"] = mlp_hidden;
  j["out_channels"] = out_channels;
  j["guide_channels"] = guide_channels;
  j["key_dim"] = key_dim;
  j["predictor_grid"] = predictor_grid;
  j["predictor_hidden"] = predictor_hidden;
  j["min_adapter_channels"] = min_adapter_channels;
  j["min_mlp_channels"] = min_mlp_channels;
  j["attach_points"] = attach_points;
  j["branch_mlp_hidden"] = branch_mlp_hidden;
  j["branches"] = json::array();
  for (const auto& [sf, set] : branches) {
    json s = json::array();
    for (const auto& b : set) s.push_back({{"adapter", b.adapter}, {"mlp_width", b.mlp_width}, {"mlp_hidden", b.mlp_hidden}});
    j["branches"].push_back({{"scale_factor", sf}, {"exits", s}});
  }
  return j;
}

// --- AsapGraph -----------------------------------------------------------------

struct AsapGraph::Impl {
  std::shared_ptr<Backbone> backbone;
};

AsapGraph::AsapGraph(AsapConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>()) {
  config_.validate("ASAP-Net config");
  impl_->backbone = std::make_shared<Backbone>(config_);
  ModuleSets sets;
  for (const auto& [sf, specs] : config_.branches) sets.emplace_back(sf, std::make_shared<BranchSet>(config_, specs));
  set_modules(impl_->backbone, std::move(sets));
}

AsapGraph::~AsapGraph() = default;

int AsapGraph::num_stages() const { return config_.num_stages; }
int AsapGraph::num_branches() const { return static_cast<int>(config_.attach_points.size()); }
int AsapGraph::attach_point(int b) const { return config_.attach_points.at(b); }

torch::Tensor AsapGraph::front(const torch::Tensor& input) {
  const int64_t s = config_.downsampling();
  if (input.dim() != 4 || input.size(1) != config_.input_channels())
    throw InputError("ASAP-Net expects a label map [N, " + std::to_string(config_.input_channels()) + ", H, W], got " +
                     std::to_string(input.dim()) + " dims" + (input.dim() > 1 ? " with " + std::to_string(input.size(1)) + " channels" : ""));
  if (input.size(2) % s != 0 || input.size(3) % s != 0)
    throw InputError("ASAP-Net label map " + std::to_string(input.size(2)) + "x" + std::to_string(input.size(3)) +
                     " is not a multiple of the model's cell size " + std::to_string(s));
  auto x = tent_downsample(input, config_.input_downsample);
  auto& front = impl_->backbone->front;
  for (size_t i = 0; i < front->size(); ++i) x = run(front, i, x);
  return torch::cat({x, pack_tiles(input.narrow(1, 0, config_.num_classes), s).to(x.dtype())}, 1);
}

torch::Tensor AsapGraph::stage(int k, const torch::Tensor& x) {
  const int64_t w = config_.lr_width();
  auto y = run(impl_->backbone->stages, static_cast<size_t>(k - 1), x.narrow(1, 0, w));
  return torch::cat({y, x.narrow(1, w, x.size(1) - w)}, 1);
}

namespace {

torch::Tensor render(const AsapConfig& c, const torch::Tensor& packed, const torch::Tensor& params, const std::vector<int>& chans) {
  const int64_t s = c.downsampling(), w = c.lr_width();
  const auto labels = packed.narrow(1, w, packed.size(1) - w);
  auto rows = tiles_rows(labels, c.num_classes, s);  // [N,h,w,S*S,classes]
  auto pe = cell_encoding(s, rows.options());
  if (pe.size(1) > 0) {
    auto sizes = rows.sizes().vec();
    sizes.back() = pe.size(1);
    rows = torch::cat({rows, pe.expand(sizes)}, 4);
  }
  return untile(pixelwise_mlp(rows, params, chans), s);
}

}  // namespace

torch::Tensor AsapGraph::head(const torch::Tensor& x) {
  const auto feats = x.narrow(1, 0, config_.lr_width());
  const auto params = impl_->backbone->weights(feats);
  return render(config_, x, params, mlp_channels(config_.mlp_in(), config_.mlp_width, config_.mlp_hidden, config_.out_channels));
}

torch::Tensor AsapGraph::branch(const std::string& sf, int b, const torch::Tensor& x, const torch::Tensor& guide) {
  auto& br = *branch_set<BranchSet>(sf).branches[b]->as<Branch>();
  auto feats = x.narrow(1, 0, config_.lr_width());
  if (br.guide_channels > 0) {
    auto g = guide.defined() ? F::interpolate(guide.to(feats.dtype()), F::InterpolateFuncOptions()
                                                                          .size(std::vector<int64_t>{feats.size(2), feats.size(3)})
                                                                          .mode(torch::kBilinear).align_corners(false))
                             : torch::zeros({feats.size(0), br.guide_channels, feats.size(2), feats.size(3)}, feats.options());
    if (g.size(1) != br.guide_channels)
      throw InputError("guide has " + std::to_string(g.size(1)) + " channels, the ASAP-Net branches expect " + std::to_string(br.guide_channels));
    feats = torch::cat({feats, g}, 1);
  }
  const auto params = br.weights(br.adapter->forward(feats));
  return render(config_, x, params, br.chans);
}

torch::Tensor AsapGraph::predict(const std::string& sf, const torch::Tensor& features, const torch::Tensor& key) {
  auto pooled = F::adaptive_avg_pool2d(features.narrow(1, 0, config_.lr_width()),
                                       F::AdaptiveAvgPool2dFuncOptions(config_.predictor_grid)).flatten(1);
  return branch_set<BranchSet>(sf).predictor->forward(with_key(pooled, key, config_.key_dim));
}

std::vector<std::pair<std::string, int64_t>> AsapGraph::backbone_macs(int64_t h, int64_t w) const {
  const auto& c = config_;
  std::vector<std::pair<std::string, int64_t>> out;
  const auto size = [](int64_t a, int64_t b) { return " at " + std::to_string(a) + "x" + std::to_string(b); };
  int64_t gh = h / c.input_downsample, gw = w / c.input_downsample;
  int in = c.input_channels();
  for (size_t i = 0; i < c.lr_channels.size(); ++i) {
    if (i > 0) gh = half_up(gh), gw = half_up(gw);
    const int o = c.lr_channels[i];
    out.emplace_back("C" + std::to_string(o) + (i == 0 ? "S1 " : "S2 ") + std::to_string(in) + "->" + std::to_string(o) + size(gh, gw),
                     conv_macs(in, o, 3, gh, gw));
    in = o;
  }
  for (int k = 0; k < c.num_stages; ++k)
    out.emplace_back("stage " + std::to_string(k + 1) + " C" + std::to_string(in) + "S1" + size(gh, gw), conv_macs(in, in, 3, gh, gw));
  const int64_t p = c.mlp_params(c.mlp_width, c.mlp_hidden);
  out.emplace_back("1x1 weight prediction " + std::to_string(in) + "->" + std::to_string(p) + size(gh, gw), conv_macs(in, p, 1, gh, gw));
  const int64_t per_pixel = c.mlp_macs_per_pixel(c.mlp_width, c.mlp_hidden);
  out.emplace_back("pixelwise MLP " + std::to_string(c.mlp_in()) + "-" + std::to_string(c.mlp_width) + "x" + std::to_string(c.mlp_hidden) +
                       "-" + std::to_string(c.out_channels) + " (" + std::to_string(per_pixel) + " MACs/pixel)" + size(h, w),
                   per_pixel * h * w);
  return out;
}

std::vector<double> AsapGraph::route_gflops(const std::string& sf, int64_t h, int64_t w) const {
  const auto& c = config_;
  const auto layers = backbone_macs(h, w);
  // Prefix cost after the front (index 0) and after each stage.
  const size_t n_front = c.lr_channels.size();
  std::vector<int64_t> prefix;
  int64_t m = 0;
  for (size_t i = 0; i < n_front; ++i) m += layers[i].second;
  prefix.push_back(m);
  for (int k = 0; k < c.num_stages; ++k) prefix.push_back(m += layers[n_front + k].second);
  const int64_t backbone = m + layers[n_front + c.num_stages].second + layers[n_front + c.num_stages + 1].second;
  int64_t gh = h / c.input_downsample, gw = w / c.input_downsample;
  for (size_t i = 1; i < c.lr_channels.size(); ++i) gh = half_up(gh), gw = half_up(gw);

  const auto to_g = [](int64_t v) { return static_cast<double>(v) / 1e9; };
  for (const auto& [name, set] : c.branches) {
    if (name != sf) continue;
    std::vector<double> out;
    for (size_t b = 0; b < set.size(); ++b) {
      const auto& s = set[b];
      int64_t cost = prefix[c.attach_points[b]];
      cost += conv_macs(c.lr_width() + c.guide_channels, s.adapter, 3, gh, gw);
      cost += conv_macs(s.adapter, c.mlp_params(s.mlp_width, s.mlp_hidden), 1, gh, gw);
      cost += c.mlp_macs_per_pixel(s.mlp_width, s.mlp_hidden) * h * w;
      out.push_back(to_g(cost));
    }
    out.push_back(to_g(backbone));
    return out;
  }
  throw InputError("scale factor '" + sf + "' has no branches in this model");
}


}  // namespace fiancee::models
