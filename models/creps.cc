#include "models/creps.h"

#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
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
const double kSqrt2 = std::sqrt(2.0);
constexpr double kClamp = 256;  // the official fc_clamp

torch::Tensor lrelu(const torch::Tensor& x) { return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)) * kSqrt2; }

// Fully connected layer with equalised learning rate (StyleGAN2's FullyConnectedLayer).
struct EqualLinear : torch::nn::Module {
  EqualLinear(int in, int out, bool activation, double lr_multiplier = 1, double bias_init = 0)
      : activation(activation), gain(lr_multiplier / std::sqrt(static_cast<double>(in))), bias_gain(lr_multiplier) {
    weight = register_parameter("weight", torch::randn({out, in}) / lr_multiplier);
    bias = register_parameter("bias", torch::full({out}, bias_init));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::linear(x, weight * gain, bias * bias_gain);
    return activation ? lrelu(y) : y;
  }
  bool activation;
  double gain, bias_gain;
  torch::Tensor weight, bias;
};

// Modulated fully connected (1x1) layer on channels-last [N, P, in]: the
// style scales the input channels of the weight, optionally demodulated.
struct ModFC : torch::nn::Module {
  ModFC(int in, int out, int w_dim, bool demodulate, bool activation)
      : in(in), out(out), demodulate(demodulate), activation(activation) {
    affine = register_module("affine", std::make_shared<EqualLinear>(w_dim, in, false, 1.0, 1.0));
    weight = register_parameter("weight", torch::randn({out, in}));
    bias = register_parameter("bias", torch::zeros({out}));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w) {
    auto styles = affine->forward(w);
    if (!demodulate) styles = styles / std::sqrt(static_cast<double>(in));
    auto wt = weight.unsqueeze(0) * styles.unsqueeze(1);  // [N, out, in]
    if (demodulate) wt = wt * (wt.square().sum(2, true) + 1e-8).rsqrt();
    auto y = torch::matmul(x, wt.transpose(1, 2)) + bias;
    if (activation) y = lrelu(y);
    return y.clamp(-kClamp, kClamp);
  }
  int64_t macs(int64_t w_dim, int64_t positions) const { return w_dim * in + in * out * positions; }
  int in, out;
  bool demodulate, activation;
  std::shared_ptr<EqualLinear> affine;
  torch::Tensor weight, bias;
};

// Pixel-centre coordinates (i + 0.5) / n, computed exactly in double.
torch::Tensor centres(int64_t n) { return (torch::arange(n, torch::kDouble) * 2 + 1) / (2.0 * static_cast<double>(n)); }

// Fourier line features modulated by the style (the supplement's SynthesisInput):
// [N, (H+W)*rank, C], the H row positions first, then the W column positions.
struct LineInput : torch::nn::Module {
  LineInput(int channels, int rank, int w_dim, double bandwidth) : channels(channels), rank(rank) {
    freqs = register_buffer("freqs", torch::randn({rank, channels / 2}) * bandwidth);
    weight = register_parameter("weight", torch::randn({2, rank, channels}));
    affine = register_module("affine", std::make_shared<EqualLinear>(w_dim, 2 * rank * channels, false, 1.0, 1.0));
  }
  torch::Tensor line(int64_t n, const torch::TensorOptions& options) const {
    auto u = (centres(n) * (2 * kPi)).to(options).view({n, 1, 1});
    auto phase = u * freqs.unsqueeze(0);  // [n, rank, C/2]
    return torch::cat({torch::sin(phase), torch::cos(phase)}, 2);
  }
  torch::Tensor forward(const torch::Tensor& w, int64_t h, int64_t wd) {
    const int64_t n = w.size(0);
    auto amp = weight.unsqueeze(0) * affine->forward(w).view({n, 2, rank, channels});  // [N, 2, rank, C]
    auto rows = line(h, w.options()).unsqueeze(0) * amp.select(1, 0).unsqueeze(1);  // [N, H, rank, C]
    auto cols = line(wd, w.options()).unsqueeze(0) * amp.select(1, 1).unsqueeze(1);
    return torch::cat({rows, cols}, 1).reshape({n, (h + wd) * rank, channels}) / std::sqrt(static_cast<double>(channels));
  }
  int channels, rank;
  torch::Tensor freqs, weight;
  std::shared_ptr<EqualLinear> affine;
};

struct Block : torch::nn::Module {
  Block(int in, int out, int biline, int w_dim, bool first) {
    if (!first) fc0 = register_module("fc0", std::make_shared<ModFC>(in, out, w_dim, true, true));
    fc1 = register_module("fc1", std::make_shared<ModFC>(out, out, w_dim, true, true));
    tores = register_module("tores", std::make_shared<ModFC>(out, biline, w_dim, false, false));
  }
  std::shared_ptr<ModFC> fc0, fc1, tores;
};

std::vector<int> decoder_widths(int biline, const std::vector<int>& hidden) {
  std::vector<int> c{biline};
  c.insert(c.end(), hidden.begin(), hidden.end());
  c.push_back(biline);
  return c;
}

torch::nn::Sequential make_decoder(int biline, const std::vector<int>& hidden) {
  torch::nn::Sequential seq;
  const auto c = decoder_widths(biline, hidden);
  for (size_t i = 0; i + 1 < c.size(); ++i) seq->push_back(std::make_shared<EqualLinear>(c[i], c[i + 1], true));
  return seq;
}

int64_t decoder_macs_per_pixel(int biline, const std::vector<int>& hidden) {
  const auto c = decoder_widths(biline, hidden);
  int64_t m = 0;
  for (size_t i = 0; i + 1 < c.size(); ++i) m += static_cast<int64_t>(c[i]) * c[i + 1];
  return m;
}

// Per-pixel synthesis block of the refinement (Table 1): fc0, fc1, and an RGB residual.
struct RefineBlock : torch::nn::Module {
  RefineBlock(int in, int out, int rgb, int w_dim) {
    fc0 = register_module("fc0", std::make_shared<ModFC>(in, out, w_dim, true, true));
    fc1 = register_module("fc1", std::make_shared<ModFC>(out, out, w_dim, true, true));
    torgb = register_module("torgb", std::make_shared<ModFC>(out, rgb, w_dim, false, false));
  }
  std::shared_ptr<ModFC> fc0, fc1, torgb;
};

// Decoder + to-RGB + refinement on the 2D feature [N, H*W, biline]: the head and every branch.
struct Renderer : torch::nn::Module {
  Renderer(const CrepsConfig& c, const CrepsBranchSpec& s) {
    decoder = register_module("decoder", make_decoder(c.biline_channels, s.decoder_hidden));
    to_rgb = register_module("to_rgb", std::make_shared<EqualLinear>(c.biline_channels, c.out_channels, false));
    int in = c.biline_channels;
    for (int r : s.refine) {
      refine->push_back(std::make_shared<RefineBlock>(in, r, c.out_channels, c.w_dim));
      in = r;
    }
    register_module("refine", refine);
  }
  torch::Tensor forward(const torch::Tensor& feat, const torch::Tensor& w, int64_t h, int64_t wd) {
    auto f = decoder->forward(feat);
    auto img = to_rgb->forward(f);
    for (auto& m : *refine) {
      auto* b = m->as<RefineBlock>();
      f = b->fc1->forward(b->fc0->forward(f, w), w);
      img = img + b->torgb->forward(f, w);
    }
    return img.reshape({img.size(0), h, wd, img.size(2)}).permute({0, 3, 1, 2}).contiguous();
  }
  torch::nn::Sequential decoder{nullptr};
  std::shared_ptr<EqualLinear> to_rgb;
  torch::nn::ModuleList refine;
};

int64_t renderer_macs(const CrepsConfig& c, const CrepsBranchSpec& s, int64_t pixels) {
  int64_t m = decoder_macs_per_pixel(c.biline_channels, s.decoder_hidden) * pixels;
  m += static_cast<int64_t>(c.biline_channels) * c.out_channels * pixels;
  int64_t in = c.biline_channels;
  for (int r : s.refine) {
    m += c.w_dim * in + in * r * pixels;          // fc0
    m += c.w_dim * r + int64_t{r} * r * pixels;   // fc1
    m += c.w_dim * r + r * c.out_channels * pixels;  // to RGB
    in = r;
  }
  return m;
}

struct Backbone : torch::nn::Module {
  explicit Backbone(const CrepsConfig& c) {
    int in = c.z_dim;
    for (int i = 0; i < c.mapping_layers; ++i) {
      mapping->push_back(std::make_shared<EqualLinear>(in, c.w_dim, true, c.mapping_lr_multiplier));
      in = c.w_dim;
    }
    register_module("mapping", mapping);
    input = register_module("input", std::make_shared<LineInput>(c.block_channels[0], c.rank, c.w_dim, c.bandwidth));
    in = c.block_channels[0];
    for (size_t k = 0; k < c.block_channels.size(); ++k) {
      blocks->push_back(std::make_shared<Block>(in, c.block_channels[k], c.biline_channels, c.w_dim, k == 0));
      in = c.block_channels[k];
      if (k > 0) decoders->push_back(make_decoder(c.biline_channels, c.decoder_hidden));
    }
    register_module("blocks", blocks);
    register_module("decoders", decoders);
    head = register_module("head", std::make_shared<Renderer>(c, CrepsBranchSpec{c.decoder_hidden, c.refine_channels}));
  }
  torch::nn::ModuleList mapping, blocks, decoders;
  std::shared_ptr<LineInput> input;
  std::shared_ptr<Renderer> head;
};

struct BranchSet : torch::nn::Module {
  BranchSet(const CrepsConfig& c, const std::vector<CrepsBranchSpec>& specs) {
    for (const auto& s : specs) branches->push_back(std::make_shared<Renderer>(c, s));
    register_module("branches", branches);
    predictor = mlp_predictor(c.w_dim + c.key_dim, c.predictor_hidden, static_cast<int64_t>(specs.size()));
    register_module("predictor", predictor);
  }
  torch::nn::ModuleList branches;
  torch::nn::Sequential predictor;
};

// The state between stages, one flat row per frame: [H, W, w, lines, residual, 2D feature].
struct State {
  int64_t h = 0, w = 0;
  torch::Tensor style, lines, res, feat;  // [N,w_dim], [N,(H+W)*rank,C], [N,(H+W)*rank,biline], [N,H*W,biline]
};

torch::Tensor pack(const State& s) {
  const int64_t n = s.style.size(0);
  auto hw = torch::tensor({static_cast<double>(s.h), static_cast<double>(s.w)}, s.style.options()).unsqueeze(0).expand({n, 2});
  std::vector<torch::Tensor> parts{hw, s.style, s.lines.reshape({n, -1})};
  if (s.res.defined()) parts.push_back(s.res.reshape({n, -1})), parts.push_back(s.feat.reshape({n, -1}));
  return torch::cat(parts, 1);
}

// State after `blocks` synthesis blocks (0 = the front's output).
State unpack(const CrepsConfig& c, const torch::Tensor& x, int blocks) {
  if (x.dim() != 2 || x.size(1) < 2 + c.w_dim) throw InputError("CREPS stage input is not a CREPS state tensor");
  State s;
  s.h = static_cast<int64_t>(x[0][0].item<double>());
  s.w = static_cast<int64_t>(x[0][1].item<double>());
  const int64_t n = x.size(0), line = (s.h + s.w) * c.rank, px = s.h * s.w;
  const int64_t width = c.block_channels[blocks == 0 ? 0 : blocks - 1];
  const int64_t expected = 2 + c.w_dim + line * width + (blocks > 0 ? line * c.biline_channels + px * c.biline_channels : 0);
  if (x.size(1) != expected)
    throw InputError("CREPS state has " + std::to_string(x.size(1)) + " values per frame, expected " + std::to_string(expected) +
                     " after " + std::to_string(blocks) + " blocks at " + std::to_string(s.h) + "x" + std::to_string(s.w));
  int64_t off = 2;
  const auto take = [&](int64_t len) {
    auto t = x.narrow(1, off, len);
    off += len;
    return t;
  };
  s.style = take(c.w_dim);
  s.lines = take(line * width).reshape({n, line, width});
  if (blocks > 0) {
    s.res = take(line * c.biline_channels).reshape({n, line, c.biline_channels});
    s.feat = take(px * c.biline_channels).reshape({n, px, c.biline_channels});
  }
  return s;
}

// Row x column fusion of the bi-line residual: [N, H*W, C], F[y,x,c] = sum_k row[y,k,c] col[x,k,c] / 2.
torch::Tensor fuse(const torch::Tensor& res, int64_t h, int64_t w, int rank) {
  const int64_t n = res.size(0), c = res.size(2);
  auto r = res.reshape({n, h + w, rank, c});
  auto rows = r.narrow(1, 0, h).permute({0, 3, 1, 2});  // [N, C, H, rank]
  auto cols = r.narrow(1, h, w).permute({0, 3, 2, 1});  // [N, C, rank, W]
  return (torch::matmul(rows, cols) * 0.5).permute({0, 2, 3, 1}).reshape({n, h * w, c});
}

std::vector<int> scaled(const std::vector<int>& widths, const ScaleFactor& sf, int min) {
  std::vector<int> out;
  for (int w : widths) out.push_back(sf.scale(w, min));
  return out;
}

}  // namespace

// --- CrepsConfig ---------------------------------------------------------------

void CrepsConfig::add_scale_factor(const std::string& name) {
  const auto sf = ScaleFactor::parse(name);
  std::vector<CrepsBranchSpec> set;
  for (size_t b = 0; b < attach_points.size(); ++b)
    set.push_back({scaled(decoder_hidden, sf, min_channels), scaled(refine_channels, sf, min_channels)});
  branches.emplace_back(sf.str(), set);
}

// Code-built configs get exactly the checks a package's gets.
void CrepsConfig::validate(const std::string& origin) const { from_json(to_json(), origin); }

CrepsConfig CrepsConfig::paper(const std::vector<std::string>& scale_factors) {
  CrepsConfig c;
  for (int res = 4; res <= 512; res *= 2) c.block_channels.push_back(std::min(65536 / res, 1024));
  c.height = c.width = 512;
  c.predictor_hidden = {256, 64};
  c.min_channels = 8;
  c.attach_points = {2, 4, 6};
  for (const auto& sf : scale_factors) c.add_scale_factor(sf);
  return c;
}

CrepsConfig CrepsConfig::tiny(const std::vector<std::string>& scale_factors) {
  CrepsConfig c;
  c.z_dim = 16;
  c.w_dim = 16;
  c.mapping_layers = 2;
  c.block_channels = {16, 16, 8, 8};
  c.rank = 2;
  c.bandwidth = 2;
  c.biline_channels = 8;
  c.decoder_hidden = {16, 32, 16};
  c.refine_channels = {16, 8};
  c.height = c.width = 16;
  c.predictor_hidden = {16};
  c.min_channels = 4;
  c.attach_points = {1, 2, 3};
  for (const auto& sf : scale_factors) c.add_scale_factor(sf);
  return c;
}

CrepsConfig CrepsConfig::from_json(const json& j, const std::string& origin) {
  JsonReader r(j, origin, "architecture");
  if (r.has("family")) r.choice("family", {"creps"});
  CrepsConfig c;
  c.z_dim = r.integer("z_dim", 1, kMaxChannels);
  c.w_dim = r.integer("w_dim", 1, kMaxChannels);
  c.mapping_layers = r.integer("mapping_layers", 1, kMaxDepth);
  c.mapping_lr_multiplier = r.number("mapping_lr_multiplier");
  if (c.mapping_lr_multiplier <= 0) r.fail_at("mapping_lr_multiplier", "must be positive, found " + json(c.mapping_lr_multiplier).dump());
  c.block_channels = r.ints("block_channels", 1, kMaxChannels);
  if (c.block_channels.empty() || c.num_blocks() > kMaxDepth)
    r.fail_at("block_channels", "must list 1 to " + std::to_string(kMaxDepth) + " synthesis blocks");
  if (c.block_channels[0] % 2 != 0) r.fail_at("block_channels[0]", "must be even (sin and cos line features)");
  c.rank = r.integer("rank", 1, kMaxChannels);
  c.bandwidth = r.number("bandwidth");
  if (c.bandwidth < 0) r.fail_at("bandwidth", "must not be negative, found " + json(c.bandwidth).dump());
  c.biline_channels = r.integer("biline_channels", 1, kMaxChannels);
  c.decoder_hidden = r.ints("decoder_hidden", 1, kMaxChannels);
  c.refine_channels = r.ints("refine_channels", 1, kMaxChannels);
  c.out_channels = r.integer("out_channels", 1, kMaxChannels);
  c.height = r.integer("height", 1, kMaxSide);
  c.width = r.integer("width", 1, kMaxSide);
  c.key_dim = r.integer("key_dim", 0, kMaxChannels);
  c.predictor_hidden = r.ints("predictor_hidden", 1, kMaxChannels);
  c.min_channels = r.integer("min_channels", 1, kMaxChannels);
  // A branch needs the 2D feature of at least one block.
  c.attach_points = r.ints("attach_points", 1, c.num_blocks());
  // A list, not a map: the order of the scale factors is the manifest's order.
  for (auto& [sf, entry] : scale_factor_list(r, "branches", "scale_factor")) {
    std::vector<CrepsBranchSpec> specs;
    for (JsonReader e : entry.array("exits").items(c.attach_points.size(), "one per attach point")) {
      specs.push_back({e.ints("decoder_hidden", 1, kMaxChannels), e.ints("refine", 1, kMaxChannels)});
      e.finish();
    }
    entry.finish();
    c.branches.emplace_back(sf, specs);
  }
  r.finish();
  return c;
}

json CrepsConfig::to_json() const {
  json j;
  j["family"] = "creps";
  j["z_dim"] = z_dim;
  j["w_dim"] = w_dim;
  j["mapping_layers"] = mapping_layers;
  j["mapping_lr_multiplier"] = mapping_lr_multiplier;
  j["block_channels"] = block_channels;
  j["rank"] = rank;
  j["bandwidth"] = bandwidth;
  j["biline_channels"] = biline_channels;
  j["decoder_hidden"] = decoder_hidden;
  j["refine_channels"] = refine_channels;
  j["out_channels"] = out_channels;
  j["height"] = height;
  j["width"] = width;
  j["key_dim"] = key_dim;
  j["predictor_hidden"] = predictor_hidden;
  j["min_channels"] = min_channels;
  j["attach_points"] = attach_points;
  j["branches"] = json::array();
  for (const auto& [sf, set] : branches) {
    json s = json::array();
    for (const auto& b : set) s.push_back({{"decoder_hidden", b.decoder_hidden}, {"refine", b.refine}});
    j["branches"].push_back({{"scale_factor", sf}, {"exits", s}});
  }
  return j;
}

// --- CrepsGraph ------------------------------------------------------------------

struct CrepsGraph::Impl {
  std::shared_ptr<Backbone> backbone;
};

CrepsGraph::CrepsGraph(CrepsConfig config)
    : config_(std::move(config)), height_(config_.height), width_(config_.width), impl_(std::make_unique<Impl>()) {
  config_.validate("CREPS config");
  impl_->backbone = std::make_shared<Backbone>(config_);
  ModuleSets sets;
  for (const auto& [sf, specs] : config_.branches) sets.emplace_back(sf, std::make_shared<BranchSet>(config_, specs));
  set_modules(impl_->backbone, std::move(sets));
}

CrepsGraph::~CrepsGraph() = default;

int CrepsGraph::num_stages() const { return config_.num_blocks(); }
int CrepsGraph::num_branches() const { return static_cast<int>(config_.attach_points.size()); }
int CrepsGraph::attach_point(int b) const { return config_.attach_points.at(b); }

void CrepsGraph::set_output_size(int64_t height, int64_t width) {
  if (height < 1 || width < 1 || height > 65536 || width > 65536)
    throw InputError("CREPS output size " + std::to_string(height) + "x" + std::to_string(width) + " is out of range 1..65536");
  height_ = height;
  width_ = width;
}

torch::Tensor CrepsGraph::front_at(const torch::Tensor& input, int64_t height, int64_t width) {
  if (input.size(0) < 1 || input.numel() != input.size(0) * config_.z_dim)
    throw InputError("CREPS expects latents [N, " + std::to_string(config_.z_dim) + "] (or [N, " + std::to_string(config_.z_dim) +
                     ", 1, 1]), got " + std::to_string(input.numel()) + " values");
  if (height < 1 || width < 1) throw InputError("CREPS output size must be positive");
  auto z = input.reshape({input.size(0), config_.z_dim}).to(torch::kFloat);
  auto& bb = *impl_->backbone;
  auto w = z * (z.square().mean(1, true) + 1e-8).rsqrt();
  for (auto& m : *bb.mapping) w = m->as<EqualLinear>()->forward(w);
  State s;
  s.h = height;
  s.w = width;
  s.style = w;
  s.lines = bb.input->forward(w, height, width);
  return pack(s);
}

torch::Tensor CrepsGraph::front(const torch::Tensor& input) { return front_at(input, height_, width_); }

torch::Tensor CrepsGraph::stage(int k, const torch::Tensor& x) {
  auto s = unpack(config_, x, k - 1);
  auto& bb = *impl_->backbone;
  auto* block = bb.blocks[k - 1]->as<Block>();
  auto lines = s.lines;
  if (block->fc0) lines = block->fc0->forward(lines, s.style);
  lines = block->fc1->forward(lines, s.style);
  auto y = block->tores->forward(lines, s.style);
  auto res = k > 1 ? s.res + y : y;
  auto fused = fuse(res, s.h, s.w, config_.rank);
  auto feat = k > 1 ? bb.decoders[k - 2]->as<torch::nn::SequentialImpl>()->forward(s.feat) + fused : fused;
  State out{s.h, s.w, s.style, lines, res, feat};
  return pack(out);
}

torch::Tensor CrepsGraph::head(const torch::Tensor& x) {
  auto s = unpack(config_, x, config_.num_blocks());
  return impl_->backbone->head->forward(s.feat, s.style, s.h, s.w);
}

torch::Tensor CrepsGraph::branch(const std::string& sf, int b, const torch::Tensor& x, const torch::Tensor&) {
  auto& set = branch_set<BranchSet>(sf);
  auto s = unpack(config_, x, config_.attach_points.at(b));
  return set.branches[b]->as<Renderer>()->forward(s.feat, s.style, s.h, s.w);
}

torch::Tensor CrepsGraph::predict(const std::string& sf, const torch::Tensor& features, const torch::Tensor& key) {
  auto in = features.narrow(1, 2, config_.w_dim);
  return branch_set<BranchSet>(sf).predictor->forward(with_key(in, key, config_.key_dim));
}

torch::Tensor CrepsGraph::render(const torch::Tensor& z, int64_t height, int64_t width) {
  auto x = front_at(z, height, width);
  for (int k = 1; k <= num_stages(); ++k) x = stage(k, x);
  return head(x);
}

std::vector<std::pair<std::string, int64_t>> CrepsGraph::backbone_macs(int64_t h, int64_t w) const {
  const auto& c = config_;
  const int64_t line = (h + w) * c.rank, px = h * w, wd = c.w_dim, bl = c.biline_channels;
  std::vector<std::pair<std::string, int64_t>> out;
  out.emplace_back("mapping " + std::to_string(c.mapping_layers) + " x fc" + std::to_string(c.w_dim),
                   c.z_dim * wd + (c.mapping_layers - 1) * wd * wd);
  out.emplace_back("line input affine", wd * 2 * c.rank * c.block_channels[0]);
  int64_t in = c.block_channels[0];
  for (int k = 0; k < c.num_blocks(); ++k) {
    const int64_t o = c.block_channels[k];
    int64_t m = 0;
    if (k > 0) m += wd * in + in * o * line;  // fc0
    m += wd * o + o * o * line;               // fc1
    m += wd * o + o * bl * line;              // to residual
    m += bl * h * w * c.rank;                 // row x column fusion
    if (k > 0) m += decoder_macs_per_pixel(c.biline_channels, c.decoder_hidden) * px;
    out.emplace_back("block " + std::to_string(k + 1) + " (" + std::to_string(in) + "->" + std::to_string(o) + ", lines " +
                         std::to_string(h + w) + "x" + std::to_string(c.rank) + (k > 0 ? ", + decoder" : "") + ")",
                     m);
    in = o;
  }
  out.emplace_back("head: decoder + to-RGB + refinement", renderer_macs(c, {c.decoder_hidden, c.refine_channels}, px));
  return out;
}

std::vector<double> CrepsGraph::route_gflops(const std::string& sf, int64_t h, int64_t w) const {
  const auto& c = config_;
  const auto layers = backbone_macs(h, w);
  std::vector<int64_t> prefix{layers[0].second + layers[1].second};
  for (int k = 0; k < c.num_blocks(); ++k) prefix.push_back(prefix.back() + layers[2 + k].second);
  const auto to_g = [](int64_t v) { return static_cast<double>(v) / 1e9; };
  for (const auto& [name, set] : c.branches) {
    if (name != sf) continue;
    std::vector<double> out;
    for (size_t b = 0; b < set.size(); ++b) out.push_back(to_g(prefix[c.attach_points[b]] + renderer_macs(c, set[b], h * w)));
    out.push_back(to_g(prefix.back() + layers.back().second));
    return out;
  }
  throw InputError("scale factor '" + sf + "' has no branches in this model");
}


}  // namespace fiancee::models
