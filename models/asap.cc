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
#include <set>

#include "core/errors.h"
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

// --- strict JSON reading ---------------------------------------------------

std::string field(const char* key) { return std::string("architecture.") + key; }

const json& member(const json& j, const char* key, const std::string& origin) {
  if (!j.contains(key)) throw PackageError(origin + ": " + field(key) + " is missing");
  return j[key];
}

int integer(const json& j, const char* key, const std::string& origin, int min) {
  const auto& v = member(j, key, origin);
  if (!v.is_number_integer() || v.get<long long>() < min || v.get<long long>() > (1LL << 30))
    throw PackageError(origin + ": " + field(key) + " must be an integer >= " + std::to_string(min) + ", found " + v.dump());
  return v.get<int>();
}

std::vector<int> ints(const json& j, const char* key, const std::string& origin, int min) {
  const auto& v = member(j, key, origin);
  if (!v.is_array()) throw PackageError(origin + ": " + field(key) + " must be an array of integers, found " + v.dump());
  std::vector<int> out;
  for (const auto& e : v) {
    if (!e.is_number_integer() || e.get<long long>() < min || e.get<long long>() > (1LL << 30))
      throw PackageError(origin + ": " + field(key) + " must hold integers >= " + std::to_string(min) + ", found " + e.dump());
    out.push_back(e.get<int>());
  }
  return out;
}

void only_known(const json& j, const std::set<std::string>& known, const std::string& where, const std::string& origin) {
  for (const auto& [k, v] : j.items())
    if (!known.count(k)) throw PackageError(origin + ": " + where + "." + k + " is not a field of this architecture");
}

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

void AsapConfig::validate(const std::string& origin) const {
  const auto bad = [&](const std::string& what) { throw PackageError(origin + ": architecture." + what); };
  if (num_classes < 1) bad("num_classes must be at least 1");
  if (extra_lr_channels < 0) bad("extra_lr_channels must not be negative");
  if (!power_of_two(input_downsample)) bad("input_downsample must be a power of 2 (1 = none), found " + std::to_string(input_downsample));
  if (lr_channels.empty()) bad("lr_channels must list at least the first conv's width");
  for (int c : lr_channels)
    if (c < 1) bad("lr_channels must hold positive widths");
  if (downsampling() > 1024) bad("lr_channels and input_downsample give a downsampling above 1024");
  if (num_stages < 0) bad("num_stages must not be negative");
  if (mlp_width < 1 || mlp_hidden < 1 || out_channels < 1) bad("mlp_width, mlp_hidden and out_channels must be positive");
  if (guide_channels < 0 || key_dim < 0) bad("guide_channels and key_dim must not be negative");
  if (predictor_grid < 1) bad("predictor_grid must be at least 1");
  for (int h : predictor_hidden)
    if (h < 1) bad("predictor_hidden must hold positive widths");
  for (size_t b = 0; b < attach_points.size(); ++b)
    if (attach_points[b] < 0 || attach_points[b] > num_stages)
      bad("attach_points[" + std::to_string(b) + "] = " + std::to_string(attach_points[b]) + " is outside 0.." + std::to_string(num_stages));
  if (!branch_mlp_hidden.empty() && branch_mlp_hidden.size() != attach_points.size())
    bad("branch_mlp_hidden must be empty or hold one entry per attach point");
  if (branches.empty()) bad("branches must hold at least one scale factor");
  for (const auto& [sf, set] : branches) {
    try {
      ScaleFactor::parse(sf);
    } catch (const InputError& e) {
      bad("branches: " + std::string(e.what()));
    }
    if (set.size() != attach_points.size())
      bad("branches." + sf + " must hold one branch per attach point (" + std::to_string(attach_points.size()) + ")");
    for (size_t b = 0; b < set.size(); ++b)
      if (set[b].adapter < 1 || set[b].mlp_width < 1 || set[b].mlp_hidden < 1)
        bad("branches." + sf + "[" + std::to_string(b) + "] needs positive adapter, mlp_width and mlp_hidden");
  }
}

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
  if (!j.is_object()) throw PackageError(origin + ": architecture must be an object");
  only_known(j,
             {"family", "num_classes", "extra_lr_channels", "input_downsample", "lr_channels", "num_stages", "mlp_width",
              "mlp_hidden", "out_channels", "guide_channels", "key_dim", "predictor_grid", "predictor_hidden",
              "min_adapter_channels", "min_mlp_channels", "attach_points", "branch_mlp_hidden", "branches"},
             "architecture", origin);
  if (j.contains("family") && j["family"] != "asap")
    throw PackageError(origin + ": architecture.family is " + j["family"].dump() + ", expected \"asap\"");
  AsapConfig c;
  c.num_classes = integer(j, "num_classes", origin, 1);
  c.extra_lr_channels = integer(j, "extra_lr_channels", origin, 0);
  c.input_downsample = integer(j, "input_downsample", origin, 1);
  c.lr_channels = ints(j, "lr_channels", origin, 1);
  c.num_stages = integer(j, "num_stages", origin, 0);
  c.mlp_width = integer(j, "mlp_width", origin, 1);
  c.mlp_hidden = integer(j, "mlp_hidden", origin, 1);
  c.out_channels = integer(j, "out_channels", origin, 1);
  c.guide_channels = integer(j, "guide_channels", origin, 0);
  c.key_dim = integer(j, "key_dim", origin, 0);
  c.predictor_grid = integer(j, "predictor_grid", origin, 1);
  c.predictor_hidden = ints(j, "predictor_hidden", origin, 1);
  c.min_adapter_channels = integer(j, "min_adapter_channels", origin, 1);
  c.min_mlp_channels = integer(j, "min_mlp_channels", origin, 1);
  c.attach_points = ints(j, "attach_points", origin, 0);
  c.branch_mlp_hidden = ints(j, "branch_mlp_hidden", origin, 1);
  // An array, not an object: the order of the scale factors is the manifest's order.
  const auto& br = member(j, "branches", origin);
  if (!br.is_array())
    throw PackageError(origin + ": architecture.branches must be an array of {scale_factor, exits}, found " + br.dump());
  for (size_t i = 0; i < br.size(); ++i) {
    const std::string where = "architecture.branches[" + std::to_string(i) + "]";
    const auto& entry = br[i];
    if (!entry.is_object()) throw PackageError(origin + ": " + where + " must be {scale_factor, exits}");
    only_known(entry, {"scale_factor", "exits"}, where, origin);
    if (!entry.contains("scale_factor") || !entry["scale_factor"].is_string())
      throw PackageError(origin + ": " + where + ".scale_factor must be a string like \"1/2\"");
    const std::string sf = entry["scale_factor"].get<std::string>();
    for (const auto& [seen, unused] : c.branches)
      if (seen == sf) throw PackageError(origin + ": architecture.branches lists scale factor " + sf + " twice");
    if (!entry.contains("exits") || !entry["exits"].is_array()) throw PackageError(origin + ": " + where + ".exits must be an array of branches");
    const auto& set = entry["exits"];
    std::vector<AsapBranchSpec> specs;
    for (size_t b = 0; b < set.size(); ++b) {
      const auto& e = set[b];
      const std::string at = where + ".exits[" + std::to_string(b) + "]";
      if (!e.is_object()) throw PackageError(origin + ": " + at + " must be {adapter, mlp_width, mlp_hidden}");
      only_known(e, {"adapter", "mlp_width", "mlp_hidden"}, at, origin);
      AsapBranchSpec s;
      const std::pair<const char*, int*> fields[] = {{"adapter", &s.adapter}, {"mlp_width", &s.mlp_width}, {"mlp_hidden", &s.mlp_hidden}};
      for (const auto& [key, dst] : fields) {
        if (!e.contains(key) || !e[key].is_number_integer() || e[key].get<long long>() < 1 || e[key].get<long long>() > (1LL << 30))
          throw PackageError(origin + ": " + at + "." + key + " must be a positive integer");
        *dst = e[key].get<int>();
      }
      specs.push_back(s);
    }
    c.branches.emplace_back(sf, specs);
  }
  c.validate(origin);
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
