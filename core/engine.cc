#include "core/engine.h"

#include <torch/torch.h>

#include <chrono>

#include "core/device.h"
#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/router.h"
#include "core/runtime.h"

namespace fiancee {

namespace {

// Wall time of one named step, synchronised on GPU so it is the step's own.
// Untimed, a step just runs: on a GPU the host then queues the next step
// while this one computes.
class StepTimer {
 public:
  StepTimer(const torch::Device& device, bool timed) : device_(device), timed_(timed) {}
  template <typename F>
  auto time(const std::string& name, F&& f) {
    if (!timed_) return f();
    const auto t0 = std::chrono::steady_clock::now();
    auto result = f();
    synchronize(device_);
    steps.emplace_back(name, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    return result;
  }
  std::vector<std::pair<std::string, double>> steps;

 private:
  torch::Device device_;
  bool timed_;
};

torch::Tensor rows(const torch::Tensor& t, const std::vector<int64_t>& idx) {
  return t.index_select(0, torch::tensor(idx, torch::kLong).to(t.device()));
}

std::vector<int64_t> nonfinite_rows(const torch::Tensor& images) {
  auto bad = torch::logical_not(torch::isfinite(images).flatten(1).all(1)).cpu();
  std::vector<int64_t> out;
  for (int64_t i = 0; i < bad.size(0); ++i)
    if (bad[i].item<bool>()) out.push_back(i);
  return out;
}

}  // namespace

torch::Tensor lookup_guide(ExitGraph& graph, const GuideDatabase& db, const torch::Tensor& front_out, const torch::Tensor& key) {
  // The database searches in float; the guide comes back in front_out's format (bf16 for a bf16 graph).
  const auto query = graph.guide_query(front_out.to(torch::kFloat));
  torch::Tensor values;
  if (query.keys.defined())
    values = db.lookup(query.keys, query.labels).values;
  else if (key.defined())
    values = db.lookup(key).values;
  else
    return {};
  return graph.guide_from_values(values.to(front_out.device()), front_out.size(0)).to(front_out.scalar_type());
}

Engine::Engine(std::shared_ptr<ExitGraph> graph, Manifest manifest, std::shared_ptr<GuideDatabase> db, torch::Device device)
    : graph_(std::move(graph)), manifest_(std::move(manifest)), db_(std::move(db)), device_(device) {
  if (graph_->num_branches() + 1 != manifest_.num_exits())
    throw PackageError(manifest_.name + ": manifest lists " + std::to_string(manifest_.num_exits()) + " exits but the architecture has " +
                       std::to_string(graph_->num_branches() + 1));
  graph_->to(device_);
  graph_->set_dtype(torch::kFloat);  // a graph another engine ran in bf16 starts in float here too
  graph_->eval();
  channels_last_ = graph_->set_channels_last(device_.is_cpu() && runtime::channels_last());
  stage_timing_ = !device_.is_cuda();
}

void Engine::set_precision(Precision precision) {
  const auto dtype = precision == Precision::Bf16 ? torch::kBFloat16 : torch::kFloat;
  const std::string name = precision == Precision::Bf16 ? "bf16" : "fp32";
  if (dtype == dtype_) return;
  if (!graph_->set_dtype(dtype))
    throw UnavailableError("model '" + manifest_.name + "' cannot run in " + name + " (its graph keeps float weights: TorchScript)");
  // Every route once on a blank frame: an operation without a kernel for this
  // precision fails here, at start, not on a user's frame.
  const auto probe = [&] {
    const auto& in = manifest_.input;
    const auto frame = torch::zeros({1, in.channels, in.height, in.width});
    for (const auto& sf : manifest_.scale_factors)
      for (int e = 0; e < manifest_.num_exits(); ++e) {
        RouteSettings s;
        s.scale_factor = sf.name;
        s.forced_exit = e;
        run(frame, {}, s);
      }
  };
  const auto previous = dtype_;
  dtype_ = dtype;
  try {
    probe();
  } catch (const std::exception& e) {
    graph_->set_dtype(previous);
    dtype_ = previous;
    std::string why = e.what();
    why = why.substr(0, why.find('\n'));
    // A probe that fails in the old precision too proves nothing about this one.
    try {
      probe();
    } catch (const std::exception&) {
      graph_->set_dtype(dtype);
      dtype_ = dtype;
      return;
    }
    throw UnavailableError("model '" + manifest_.name + "' cannot run in " + name + " on " + device_.str() + ": " + why);
  }
}

double Engine::routing_threshold(const std::string& sf, const RouteSettings& settings) {
  const auto it = calibrations_.find(sf);
  if (!(settings.target_miss_rate > 0) || it == calibrations_.end()) return settings.quality_threshold;
  const auto key = std::make_tuple(sf, settings.quality_threshold, settings.target_miss_rate);
  auto cached = margin_cache_.find(key);
  if (cached == margin_cache_.end()) {
    if (margin_cache_.size() >= 64) margin_cache_.clear();  // a sweep of thresholds must not grow it without bound
    const double margin = conformal_margin(it->second, manifest_.scale_factor(sf).route_gflops, settings.quality_threshold,
                                           settings.target_miss_rate);
    cached = margin_cache_.emplace(key, margin).first;
  }
  return settings.quality_threshold - cached->second;
}

EngineOutput Engine::run(const torch::Tensor& input, const torch::Tensor& key, const std::vector<RouteSettings>& per_frame) {
  torch::NoGradGuard no_grad;
  const auto total_t0 = std::chrono::steady_clock::now();
  const int64_t n = input.size(0);
  if (per_frame.size() != 1 && per_frame.size() != size_t(n))
    throw InputError("engine of model '" + manifest_.name + "': " + std::to_string(per_frame.size()) + " route settings for " +
                     std::to_string(n) + " frames (give one, or one per frame)");
  const auto settings_of = [&](int64_t i) -> const RouteSettings& { return per_frame[per_frame.size() == 1 ? 0 : i]; };
  const auto sf_of = [&](const RouteSettings& s) { return s.scale_factor.empty() ? manifest_.default_scale_factor : s.scale_factor; };
  const std::string sf = sf_of(per_frame[0]);
  for (const auto& s : per_frame)
    if (sf_of(s) != sf)
      throw InputError("engine of model '" + manifest_.name + "': one batch mixes scale factors " + sf + " and " + sf_of(s) +
                       " (a batch runs one scale factor's exits)");
  const auto& gflops = manifest_.scale_factor(sf).route_gflops;
  const int n_exits = manifest_.num_exits(), backbone = n_exits - 1;
  StepTimer timer(device_, stage_timing_);

  auto in = to_device(input, device_, dtype_);
  if (channels_last_ && in.dim() == 4) in = in.contiguous(at::MemoryFormat::ChannelsLast);
  auto x = timer.time("front", [&] { return graph_->front(in); });
  torch::Tensor predicted;
  const bool any_predicted = std::any_of(per_frame.begin(), per_frame.end(), [](const RouteSettings& s) { return s.forced_exit < 0 && !s.late; });
  if (any_predicted)
    predicted = timer.time("predictor", [&] {
      return graph_->predict(sf, x, key.defined() ? to_device(key, device_, dtype_) : key).to(torch::kCPU, torch::kDouble).clamp_min(0);
    });

  EngineOutput out;
  out.reports.resize(n);
  std::vector<int> exit(n);
  for (int64_t i = 0; i < n; ++i) {
    const RouteSettings& settings = settings_of(i);
    const bool budget = settings.latency_budget_ms > 0 && settings.route_ms.size() == size_t(n_exits);
    auto& r = out.reports[i];
    r.num_exits = n_exits;
    r.scale_factor = sf;
    r.backbone_gflops = gflops.back();
    r.predicted.assign(n_exits, 0.0);
    // A predictor gone NaN/Inf cannot vouch for any branch: route as for threshold 0.
    bool usable = true;
    if (predicted.defined()) {
      usable = torch::isfinite(predicted[i]).all().item<bool>();
      if (usable)
        for (int e = 0; e < backbone; ++e) r.predicted[e] = predicted[i][e].item<double>();
      else
        r.warning = "predictor of model '" + manifest_.name + "' returned NaN/Inf; frame sent to the backbone";
    }
    const double threshold = usable ? routing_threshold(sf, settings) : 0.0;
    r.threshold = threshold;
    const auto choice = choose_route(r.predicted, gflops, threshold, settings.forced_exit, settings.late);
    exit[i] = choice.exit;
    r.wanted_exit = choice.exit;
    if (!choice.forced && !choice.late && settings.min_exit > choice.exit) {
      // Held on a costlier exit, one that still qualifies: never below the threshold's quality.
      int e = std::min(settings.min_exit, backbone);
      while (e < backbone && !(r.predicted[e] < threshold)) ++e;
      exit[i] = e;
      r.held = true;
    }
    if (budget && !choice.forced && !choice.late) {
      exit[i] = fit_budget(exit[i], r.predicted, gflops, threshold, settings.route_ms, settings.latency_budget_ms);
      r.budget_limited = !(r.predicted[exit[i]] < threshold) && exit[i] != backbone;
    }
    r.held = r.held && exit[i] > choice.exit;  // the budget may have undone the hold
    r.forced = choice.forced;
    r.late = choice.late;
  }

  torch::Tensor guide;
  const bool any_branch = std::any_of(exit.begin(), exit.end(), [&](int e) { return e != backbone; });
  if (db_ && any_branch)
    guide = timer.time("guide_db", [&] { return lookup_guide(*graph_, *db_, x, key); });

  const int64_t out_c = manifest_.output.channels;
  out.images = torch::empty({n, out_c, manifest_.output.height, manifest_.output.width}, x.options());
  std::vector<int64_t> alive(n);  // batch rows of x, by original frame index
  for (int64_t i = 0; i < n; ++i) alive[i] = i;
  const int stages = graph_->num_stages();
  for (int level = 0; level <= stages && !alive.empty(); ++level) {
    for (int b = 0; b < graph_->num_branches(); ++b) {
      if (graph_->attach_point(b) != level) continue;
      std::vector<int64_t> pos, frames;
      for (size_t p = 0; p < alive.size(); ++p)
        if (exit[alive[p]] == b) pos.push_back(p), frames.push_back(alive[p]);
      if (frames.empty()) continue;
      auto img = timer.time("branch" + std::to_string(b), [&] {
        return graph_->finish(graph_->branch(sf, b, rows(x, pos), guide.defined() ? rows(guide, frames) : guide), rows(in, frames));
      });
      const auto bad = nonfinite_rows(img);
      for (size_t j = 0; j < frames.size(); ++j) {
        if (std::find(bad.begin(), bad.end(), static_cast<int64_t>(j)) != bad.end()) {
          exit[frames[j]] = backbone;  // stays alive, continues down the backbone
          out.reports[frames[j]].fell_back = true;
          out.reports[frames[j]].warning = "exit " + std::to_string(b) + " of model '" + manifest_.name + "' produced NaN/Inf; the backbone rendered the frame";
        } else {
          out.images[frames[j]].copy_(img[j]);
        }
      }
    }
    std::vector<int64_t> keep, still;
    for (size_t p = 0; p < alive.size(); ++p) {
      const int e = exit[alive[p]];
      const int needed = e == backbone || settings_of(alive[p]).measure ? stages : graph_->attach_point(e);
      if (needed > level) keep.push_back(p), still.push_back(alive[p]);
    }
    if (level == stages) break;
    if (keep.size() != alive.size()) x = rows(x, keep);
    alive = std::move(still);
    if (!alive.empty()) x = timer.time("stage" + std::to_string(level + 1), [&] { return graph_->stage(level + 1, x); });
  }
  if (!alive.empty()) {
    auto img = timer.time("head", [&] { return graph_->finish(graph_->head(x), alive.size() == size_t(n) ? in : rows(in, alive)); });
    if (!nonfinite_rows(img).empty())
      throw NonFiniteError("backbone of model package '" + manifest_.name + "' produced NaN/Inf (weights or input are broken)");
    for (size_t j = 0; j < alive.size(); ++j) {
      const int64_t i = alive[j];
      if (exit[i] == backbone) {
        out.images[i].copy_(img[j]);
        if (settings_of(i).measure) out.reports[i].measured = 0;
      } else {
        // Measuring: the frame's own exit already rendered it; compare with the backbone.
        if (!metric_) metric_ = make_metric(manifest_.metric);
        out.reports[i].measured =
            metric_->distance(out.images[i].unsqueeze(0).to(torch::kFloat), img[j].unsqueeze(0).to(torch::kFloat)).item<double>();
      }
    }
  }
  if (out.images.scalar_type() != torch::kFloat) out.images = out.images.to(torch::kFloat);
  out.images = to_host(out.images);  // waits for the device: the frame's total time is its own
  const double total = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - total_t0).count();
  for (int64_t i = 0; i < n; ++i) {
    auto& r = out.reports[i];
    r.exit = exit[i];
    r.gflops = gflops[exit[i]];
    r.stage_ms = timer.steps;
    r.total_ms = total / static_cast<double>(n);
    r.batch = static_cast<int>(n);
  }
  return out;
}

}  // namespace fiancee
