#include "tools/eval_report.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/engine.h"
#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/package.h"
#include "core/router.h"
#include "models/registry.h"
#include "core/calibration.h"
#include "tools/plot.h"

namespace fiancee::tools {

namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

std::vector<double> column(const torch::Tensor& t, int e) {
  auto c = t.select(1, e).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// The sweep's outcome per threshold, for the plot.
struct SweepCurves {
  std::vector<double> thresholds, mean_gflops, mean_quality, p95_quality;
  std::vector<std::vector<double>> shares;  // [threshold][exit]
};

std::string exit_name(const EvalSetup& s, size_t e) {
  return e + 1 == s.gflops.size() ? "backbone" : "exit " + std::to_string(e) + " (SF " + s.scale_factor + ")";
}

std::string title(const EvalSetup& s, const std::string& what) {
  std::string t;
  for (const auto& part : {s.package, s.split, s.metric})
    if (!part.empty()) t += part + " · ";
  return t + what;
}

std::string format(const char* fmt, double v) {
  char text[64];
  std::snprintf(text, sizeof text, fmt, v);
  return text;
}

// Stacked bars of exit shares per threshold (the paper's Fig. 7 layout) over
// what they buy and cost: mean GFLOPs and measured quality at each threshold.
void plot_sweep(const std::string& stem, const EvalSetup& s, int frames, const SweepCurves& c) {
  plot::Figure fig(title(s, "exit shares, cost and quality vs threshold"),
                   "scale factor " + s.scale_factor + ", " + std::to_string(frames) + " frames; each frame takes the cheapest exit whose predicted " +
                       s.metric + " is below the threshold",
                   1000, 860);
  // Every chart spans the bars' extent, so a threshold is at the same x in all three.
  const double half_step = c.thresholds.size() > 1 ? (c.thresholds[1] - c.thresholds[0]) / 2 : s.threshold_step / 2;
  auto chart = [&](plot::ChartKind kind, const std::string& y_label) {
    plot::Chart ch;
    ch.kind = kind;
    ch.y_label = y_label;
    ch.x = c.thresholds;
    ch.x_min = c.thresholds.front() - half_step;
    ch.x_max = c.thresholds.back() + half_step;
    return ch;
  };
  auto shares = chart(plot::ChartKind::kStackedBars, "share of frames");
  shares.y_percent = true;
  shares.y_max = 1;
  shares.height = 1.6;
  for (size_t e = 0; e < s.gflops.size(); ++e) {
    plot::Series exit{exit_name(s, e) + ": " + format("%.3g GFLOPs", s.gflops[e]), {},
                      e + 1 == s.gflops.size() ? plot::kGrey : plot::series_colour(e)};
    for (const auto& at : c.shares) exit.values.push_back(at[e]);
    shares.series.push_back(std::move(exit));
  }
  fig.add(std::move(shares));
  auto cost = chart(plot::ChartKind::kLines, "GFLOPs / frame");
  cost.series.push_back({"mean GFLOPs", c.mean_gflops, plot::kBlack});
  cost.series.push_back({"backbone alone", std::vector<double>(c.thresholds.size(), s.gflops.back()), plot::kGrey, true});
  fig.add(std::move(cost));
  auto quality = chart(plot::ChartKind::kLines, "measured " + s.metric);
  quality.x_label = "threshold on the predicted " + s.metric;
  quality.series.push_back({"95th percentile", c.p95_quality, plot::series_colour(5)});
  quality.series.push_back({"mean", c.mean_quality, plot::kBlack});
  quality.series.push_back({"threshold (y = x)", c.thresholds, plot::kGrey, true});
  fig.add(std::move(quality));
  fig.save(stem);
}

// Histogram of measured quality per exit, one row per exit (the paper's Fig. S5 layout).
void plot_quality(const std::string& stem, const EvalSetup& s, const EvalFrames& f) {
  const int64_t frames = f.measured.size(0), branches = f.measured.size(1) - 1;
  plot::Figure fig(title(s, "each exit's distance to the backbone"),
                   "scale factor " + s.scale_factor + ", " + std::to_string(frames) + " frames, every exit rendered on every frame", 1000,
                   static_cast<int>(170 + 120 * branches));
  plot::Chart c;
  c.kind = plot::ChartKind::kHistogram;
  c.x_label = s.metric + " to the backbone output (0 = identical); dashed: the mean";
  c.y_label = "share of frames";
  c.y_percent = true;
  for (int e = 0; e < branches; ++e)
    c.series.push_back({exit_name(s, static_cast<size_t>(e)) + ": mean " + format("%.3f", f.measured.select(1, e).mean().item<double>()),
                        column(f.measured, e), plot::series_colour(static_cast<size_t>(e))});
  fig.add(std::move(c));
  fig.save(stem);
}

// The calibrated router (target-miss-rate) on the eval frames: per target rate
// and threshold, the conformal margin from the package's calibration frames,
// the realized miss rate and GFLOPs share, beside the uncalibrated router's.
void report_calibration(const EvalSetup& s, const std::vector<std::vector<double>>& predicted,
                        const std::vector<std::vector<double>>& measured, const std::vector<double>& thresholds) {
  const Calibration& cal = *s.calibration;
  const int n = static_cast<int>(predicted.size()), bb = static_cast<int>(s.gflops.size()) - 1;
  const std::vector<double> targets{0.02, 0.05, 0.1};
  const auto route = [&](double t, double margin, double& miss, double& share) {
    miss = share = 0;
    for (int i = 0; i < n; ++i) {
      const int e = calibrated_exit(predicted[i], s.gflops, t, margin);
      miss += (e != bb && measured[i][e] >= t) / double(n);
      share += s.gflops[e] / s.gflops[bb] / n;
    }
  };
  std::ofstream csv(s.out_dir + "/calibration.csv");
  csv << "threshold,target_miss_rate,margin,miss_share,gflops_share,uncalibrated_miss_share,uncalibrated_gflops_share\n";
  std::printf("\ncalibrated routing (target-miss-rate; %d calibration frames: %s)\n", cal.frames(), cal.split.c_str());
  std::printf("%9s %7s %9s %7s %12s   %s\n", "threshold", "target", "margin", "miss", "GFLOPs share", "uncalibrated: miss, GFLOPs share");
  std::vector<std::vector<double>> realized(targets.size());
  std::vector<double> xs, uncalibrated;
  for (double t : thresholds) {
    if (t <= 0) continue;
    xs.push_back(t);
    double miss0, share0;
    route(t, 0, miss0, share0);
    uncalibrated.push_back(miss0);
    for (size_t k = 0; k < targets.size(); ++k) {
      const double margin = conformal_margin(cal, s.gflops, t, targets[k]);
      double miss, share;
      route(t, margin, miss, share);
      realized[k].push_back(miss);
      csv << t << "," << targets[k] << "," << margin << "," << miss << "," << share << "," << miss0 << "," << share0 << "\n";
      std::printf("%9.3f %7.2f %+9.4f %7.3f %12.3f   %.3f, %.3f\n", t, targets[k], margin, miss, share, miss0, share0);
    }
  }
  plot::Figure fig(title(s, "calibrated miss rate vs target"),
                   std::to_string(n) + " eval frames routed with the conformal margin from " + std::to_string(cal.frames()) +
                       " calibration frames; a miss: the taken exit's measured distance >= the threshold",
                   1000, 520);
  plot::Chart c;
  c.kind = plot::ChartKind::kLines;
  c.x = xs;
  c.x_label = "quality threshold (" + s.metric + ")";
  c.y_label = "share of frames missing the threshold";
  c.y_percent = true;
  c.series.push_back({"threshold alone (no target)", uncalibrated, plot::kGrey});
  for (size_t k = 0; k < targets.size(); ++k) {
    c.series.push_back({"realized, target " + format("%.2f", targets[k]), realized[k], plot::series_colour(k)});
    c.series.push_back({"target " + format("%.2f", targets[k]), std::vector<double>(xs.size(), targets[k]), plot::series_colour(k), true});
  }
  fig.add(std::move(c));
  fig.save(s.out_dir + "/calibrated_miss");
}

}  // namespace

ExitRows render_exits(ExitGraph& graph, const std::string& sf, const torch::Tensor& input_float, const torch::Tensor& key_float,
                      const GuideDatabase* db, const QualityMetric& metric, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const auto input = input_float.to(dtype);
  const auto key = key_float.defined() ? key_float.to(dtype) : key_float;
  const auto finish = [&](const torch::Tensor& out) { return graph.finish(out, input).to(torch::kFloat); };
  const int64_t k = input.size(0);
  const int exits = graph.num_branches() + 1, bb = exits - 1;
  auto x = graph.front(input);
  ExitRows r;
  r.predicted = torch::cat({graph.predict(sf, x, key).clamp_min(0).to(torch::kCPU, torch::kDouble), torch::zeros({k, 1}, torch::kDouble)}, 1);
  std::vector<torch::Tensor> levels{x};
  for (int s = 1; s <= graph.num_stages(); ++s) levels.push_back(graph.stage(s, levels.back()));
  const auto backbone = finish(graph.head(levels.back()));
  std::vector<torch::Tensor> images;
  const auto guide = db ? lookup_guide(graph, *db, x, key_float) : torch::Tensor();
  r.measured = torch::zeros({k, exits}, torch::kDouble);
  if (db) r.measured_no_db = torch::zeros({k, exits}, torch::kDouble);
  for (int e = 0; e < bb; ++e) {
    const auto& at = levels[graph.attach_point(e)];
    images.push_back(finish(graph.branch(sf, e, at, guide)));
    r.measured.select(1, e).copy_(metric.distance(images.back(), backbone));
    if (db) r.measured_no_db.select(1, e).copy_(metric.distance(finish(graph.branch(sf, e, at, torch::Tensor())), backbone));
  }
  images.push_back(backbone);
  r.images = torch::stack(images, 1);
  return r;
}

EvalContext EvalContext::open(const Package& pkg, const Options& args) {
  const auto& m = pkg.manifest();
  EvalContext c;
  c.setup.out_dir = args.get("--out", "eval-out");
  c.setup.package = (m.name.empty() ? pkg.dir() : m.name) + (m.untrained ? " (untrained)" : "");
  c.setup.metric = m.metric;
  c.setup.scale_factor = args.get("--scale-factor", m.default_scale_factor);
  c.setup.gflops = m.scale_factor(c.setup.scale_factor).route_gflops;
  c.setup.default_threshold = m.default_threshold;
  if (auto cal = pkg.calibrations(); cal.count(c.setup.scale_factor)) c.setup.calibration = cal.at(c.setup.scale_factor);
  c.setup.max_threshold = std::stod(args.get("--max-threshold", "0.5"));
  c.setup.threshold_step = std::stod(args.get("--threshold-step", "0.025"));
  if (!(c.setup.threshold_step > 0)) throw InputError("--threshold-step must be positive");
  if (!(c.setup.max_threshold >= 0)) throw InputError("--max-threshold must not be negative");
  c.graph = models::load_graph(pkg);
  c.graph->eval();
  c.setup.precision = args.get("--precision", "fp32");  // the CLI allows fp32 and bf16 only
  if (c.setup.precision == "bf16") {
    c.dtype = torch::kBFloat16;
    if (!c.graph->set_dtype(c.dtype)) throw UnavailableError(pkg.dir() + ": this model cannot run in bf16 (a TorchScript graph keeps float weights)");
  }
  c.db = pkg.guide_database();
  c.metric = make_ms_ssim_distance();
  std::filesystem::create_directories(c.setup.out_dir);
  return c;
}

EvalFrames EvalFrames::stack(const std::vector<ExitRows>& rows) {
  std::vector<torch::Tensor> p, m, n;
  for (const auto& r : rows) {
    p.push_back(r.predicted);
    m.push_back(r.measured);
    if (r.measured_no_db.defined()) n.push_back(r.measured_no_db);
  }
  return {torch::cat(p), torch::cat(m), n.empty() ? torch::Tensor() : torch::cat(n)};
}

std::vector<std::pair<double, double>> predictor_error(const EvalFrames& f) {
  std::vector<std::pair<double, double>> out;
  for (int64_t e = 0; e + 1 < f.measured.size(1); ++e) {
    auto err = f.predicted.select(1, e) - f.measured.select(1, e);
    out.emplace_back(err.abs().mean().item<double>(), err.mean().item<double>());
  }
  return out;
}

void report_sweep(const EvalFrames& f, const EvalSetup& s) {
  std::filesystem::create_directories(s.out_dir);
  const int n = static_cast<int>(f.measured.size(0)), exits = static_cast<int>(f.measured.size(1)), bb = exits - 1;
  SweepCurves curves;
  for (double t = 0; t <= s.max_threshold + 1e-9; t += s.threshold_step) curves.thresholds.push_back(t);
  std::ofstream sweep(s.out_dir + "/sweep.csv");
  sweep << "threshold,mean_gflops,gflops_share,mean_quality,p95_quality,miss_share";
  for (int e = 0; e < exits; ++e) sweep << ",share_exit" << e;
  sweep << "\n";
  std::printf("scale factor %s, %d held-out frames, metric %s (distance to the backbone output), %s\n", s.scale_factor.c_str(), n,
              s.metric.c_str(), s.precision.c_str());
  std::printf("%9s %11s %7s %9s %9s %7s  exit shares (0..%d, last = backbone)\n", "threshold", "mean GFLOPs", "of BB", "mean q", "p95 q", "miss", bb);
  // Per-frame rows read out of the tensors once, not once per threshold.
  std::vector<std::vector<double>> predicted(n), measured(n);
  for (int i = 0; i < n; ++i) {
    const auto p = f.predicted[i].contiguous(), m = f.measured[i].contiguous();
    predicted[i].assign(p.data_ptr<double>(), p.data_ptr<double>() + exits);
    measured[i].assign(m.data_ptr<double>(), m.data_ptr<double>() + exits);
  }
  for (double t : curves.thresholds) {
    std::vector<double> shares(exits, 0.0), qualities;
    double g = 0;
    int misses = 0;
    for (int i = 0; i < n; ++i) {
      const int e = choose_route(predicted[i], s.gflops, t, -1, false).exit;
      shares[e] += 1.0 / n;
      g += s.gflops[e] / n;
      const double q = measured[i][e];
      qualities.push_back(q);
      if (e != bb && q >= t) ++misses;
    }
    double mq = 0;
    for (double q : qualities) mq += q / n;
    const double miss = static_cast<double>(misses) / n, p95 = quantile(qualities, 0.95);
    sweep << t << "," << g << "," << g / s.gflops[bb] << "," << mq << "," << p95 << "," << miss;
    for (double v : shares) sweep << "," << v;
    sweep << "\n";
    std::printf("%9.3f %11.4f %7.3f %9.4f %9.4f %7.3f ", t, g, g / s.gflops[bb], mq, p95, miss);
    for (double v : shares) std::printf(" %5.2f", v);
    std::printf("\n");
    curves.shares.push_back(shares);
    curves.mean_gflops.push_back(g);
    curves.mean_quality.push_back(mq);
    curves.p95_quality.push_back(p95);
  }
  // GFLOPs saved per quality unit: least-squares slope of mean GFLOPs against mean quality.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const auto &mean_q = curves.mean_quality, &mean_g = curves.mean_gflops;
  const double k = static_cast<double>(mean_q.size());
  for (size_t i = 0; i < mean_q.size(); ++i) sx += mean_q[i], sy += mean_g[i], sxx += mean_q[i] * mean_q[i], sxy += mean_q[i] * mean_g[i];
  const double denom = k * sxx - sx * sx;
  if (denom > 0)
    std::printf("gain: %.3g GFLOPs saved per unit of %s (least-squares slope over the sweep; the paper reports 1.3e3 GFLOPs/LPIPS at 512x512)\n",
                -(k * sxy - sx * sy) / denom, s.metric.c_str());
  plot_sweep(s.out_dir + "/exit_shares", s, n, curves);
  if (s.calibration) report_calibration(s, predicted, measured, curves.thresholds);
  plot_quality(s.out_dir + "/quality_per_exit", s, f);

  // Database effect and predictor error per exit (Tables S1/S5 and S3/S6 style).
  const auto errors = predictor_error(f);
  std::ofstream per_exit(s.out_dir + "/per_exit.csv");
  per_exit << "exit,gflops,mean_quality_with_db,mean_quality_without_db,p95_quality_with_db,predictor_mae,predictor_mean_error\n";
  std::printf("\n%5s %9s %14s %14s %14s %14s\n", "exit", "GFLOPs", "q with DB", "q without DB", "pred. MAE", "pred. bias");
  for (int e = 0; e < bb; ++e) {
    const double with = f.measured.select(1, e).mean().item<double>();
    const double without = f.measured_no_db.defined() ? f.measured_no_db.select(1, e).mean().item<double>() : with;
    std::printf("%5d %9.4f %14.4f %14s %14.4f %14.4f\n", e, s.gflops[e], with,
                f.measured_no_db.defined() ? std::to_string(without).substr(0, 6).c_str() : "(no DB)", errors[e].first, errors[e].second);
    per_exit << e << "," << s.gflops[e] << "," << with << "," << (f.measured_no_db.defined() ? std::to_string(without) : "") << ","
             << quantile(column(f.measured, e), 0.95) << "," << errors[e].first << "," << errors[e].second << "\n";
  }
  std::fprintf(stderr, "eval: wrote %s/sweep.csv, per_exit.csv, exit_shares.png/.svg, quality_per_exit.png/.svg\n", s.out_dir.c_str());
}

}  // namespace fiancee::tools
