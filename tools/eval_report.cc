#include "tools/eval_report.h"

#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

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

namespace fiancee::tools {

namespace {

const cv::Scalar kColours[] = {{80, 175, 76}, {243, 150, 33}, {7, 193, 255}, {54, 67, 244}, {156, 39, 176}, {121, 85, 72}};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

std::vector<double> column(const torch::Tensor& t, int e) {
  auto c = t.select(1, e).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Stacked bars of exit shares per threshold (the paper's Fig. 7 layout).
void plot_shares(const std::string& path, const std::string& metric, const std::vector<double>& thresholds,
                 const std::vector<std::vector<double>>& shares) {
  const int w = 80 + 40 * static_cast<int>(thresholds.size()), h = 360, top = 20, bottom = 300;
  cv::Mat img(h, std::max(w, 620), CV_8UC3, cv::Scalar(255, 255, 255));
  for (size_t t = 0; t < thresholds.size(); ++t) {
    double y = bottom;
    const int x = 60 + 40 * static_cast<int>(t);
    for (size_t e = 0; e < shares[t].size(); ++e) {
      const double hgt = shares[t][e] * (bottom - top);
      cv::rectangle(img, cv::Point(x, static_cast<int>(y - hgt)), cv::Point(x + 30, static_cast<int>(y)), kColours[e % 6], cv::FILLED);
      y -= hgt;
    }
    char label[16];
    std::snprintf(label, sizeof label, "%.2f", thresholds[t]);
    cv::putText(img, label, cv::Point(x - 2, bottom + 18), cv::FONT_HERSHEY_SIMPLEX, 0.35, cv::Scalar(0, 0, 0));
  }
  cv::putText(img, "threshold (" + metric + "); bars: share of frames per exit, bottom = exit 0, top = backbone",
              cv::Point(10, h - 20), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0));
  cv::imwrite(path, img);
}

// Histogram of measured quality per exit, one row per exit (the paper's Fig. S5 layout).
void plot_quality(const std::string& path, const std::string& metric, const EvalFrames& f) {
  const int exits = static_cast<int>(f.measured.size(1)) - 1, bins = 40, row = 90, left = 70, width = 480;
  const double top_q = std::max(1e-6, f.measured.narrow(1, 0, exits).max().item<double>());
  cv::Mat img(row * exits + 60, left + width + 20, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int e = 0; e < exits; ++e) {
    std::vector<int> counts(bins, 0);
    for (double q : column(f.measured, e)) ++counts[std::min(bins - 1, static_cast<int>(q / top_q * bins))];
    const int most = std::max(1, *std::max_element(counts.begin(), counts.end()));
    const int base = row * (e + 1);
    for (int b = 0; b < bins; ++b) {
      const int x = left + b * width / bins, hgt = counts[b] * (row - 20) / most;
      cv::rectangle(img, cv::Point(x, base - hgt), cv::Point(x + width / bins - 1, base), kColours[e % 6], cv::FILLED);
    }
    cv::putText(img, "exit " + std::to_string(e), cv::Point(8, base - 30), cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0));
    cv::line(img, cv::Point(left, base), cv::Point(left + width, base), cv::Scalar(0, 0, 0));
  }
  char axis[160];
  std::snprintf(axis, sizeof axis, "measured %s to the backbone, 0 .. %.3f; bar height = share of frames", metric.c_str(), top_q);
  cv::putText(img, axis, cv::Point(10, row * exits + 35), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0));
  cv::imwrite(path, img);
}

}  // namespace

ExitRows render_exits(ExitGraph& graph, const std::string& sf, const torch::Tensor& input, const torch::Tensor& key, const GuideDatabase* db,
                      const QualityMetric& metric) {
  torch::NoGradGuard no_grad;
  const int64_t k = input.size(0);
  const int exits = graph.num_branches() + 1, bb = exits - 1;
  auto x = graph.front(input);
  ExitRows r;
  r.predicted = torch::cat({graph.predict(sf, x, key).clamp_min(0).to(torch::kCPU, torch::kDouble), torch::zeros({k, 1}, torch::kDouble)}, 1);
  std::vector<torch::Tensor> levels{x};
  for (int s = 1; s <= graph.num_stages(); ++s) levels.push_back(graph.stage(s, levels.back()));
  r.backbone = graph.head(levels.back());
  const auto guide = db ? lookup_guide(graph, *db, x, key) : torch::Tensor();
  r.measured = torch::zeros({k, exits}, torch::kDouble);
  if (db) r.measured_no_db = torch::zeros({k, exits}, torch::kDouble);
  for (int e = 0; e < bb; ++e) {
    const auto& at = levels[graph.attach_point(e)];
    r.measured.select(1, e).copy_(metric.distance(graph.branch(sf, e, at, guide), r.backbone));
    if (db) r.measured_no_db.select(1, e).copy_(metric.distance(graph.branch(sf, e, at, torch::Tensor()), r.backbone));
  }
  return r;
}

EvalContext EvalContext::open(const Package& pkg, const Args& args) {
  const auto& m = pkg.manifest();
  EvalContext c;
  c.setup.out_dir = args.get("--out", "eval-out");
  c.setup.metric = m.metric;
  c.setup.scale_factor = args.get("--scale-factor", m.default_scale_factor);
  c.setup.gflops = m.scale_factor(c.setup.scale_factor).route_gflops;
  c.setup.max_threshold = std::stod(args.get("--max-threshold", "0.5"));
  c.setup.threshold_step = std::stod(args.get("--threshold-step", "0.025"));
  if (!(c.setup.threshold_step > 0)) throw InputError("--threshold-step must be positive");
  c.graph = models::load_graph(pkg);
  c.graph->eval();
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
  std::vector<double> thresholds;
  for (double t = 0; t <= s.max_threshold + 1e-9; t += s.threshold_step) thresholds.push_back(t);
  std::ofstream sweep(s.out_dir + "/sweep.csv");
  sweep << "threshold,mean_gflops,gflops_share,mean_quality,p95_quality,miss_share";
  for (int e = 0; e < exits; ++e) sweep << ",share_exit" << e;
  sweep << "\n";
  std::printf("scale factor %s, %d held-out frames, metric %s (distance to the backbone output)\n", s.scale_factor.c_str(), n, s.metric.c_str());
  std::printf("%9s %11s %7s %9s %9s %7s  exit shares (0..%d, last = backbone)\n", "threshold", "mean GFLOPs", "of BB", "mean q", "p95 q", "miss", bb);
  // Per-frame rows read out of the tensors once, not once per threshold.
  std::vector<std::vector<double>> predicted(n), measured(n);
  for (int i = 0; i < n; ++i) {
    const auto p = f.predicted[i].contiguous(), m = f.measured[i].contiguous();
    predicted[i].assign(p.data_ptr<double>(), p.data_ptr<double>() + exits);
    measured[i].assign(m.data_ptr<double>(), m.data_ptr<double>() + exits);
  }
  std::vector<std::vector<double>> shares_all;
  std::vector<double> mean_g, mean_q;
  for (double t : thresholds) {
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
    const double miss = static_cast<double>(misses) / n;
    sweep << t << "," << g << "," << g / s.gflops[bb] << "," << mq << "," << quantile(qualities, 0.95) << "," << miss;
    for (double v : shares) sweep << "," << v;
    sweep << "\n";
    std::printf("%9.3f %11.4f %7.3f %9.4f %9.4f %7.3f ", t, g, g / s.gflops[bb], mq, quantile(qualities, 0.95), miss);
    for (double v : shares) std::printf(" %5.2f", v);
    std::printf("\n");
    shares_all.push_back(shares);
    mean_g.push_back(g);
    mean_q.push_back(mq);
  }
  // GFLOPs saved per quality unit: least-squares slope of mean GFLOPs against mean quality.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double k = static_cast<double>(mean_q.size());
  for (size_t i = 0; i < mean_q.size(); ++i) sx += mean_q[i], sy += mean_g[i], sxx += mean_q[i] * mean_q[i], sxy += mean_q[i] * mean_g[i];
  const double denom = k * sxx - sx * sx;
  if (denom > 0)
    std::printf("gain: %.3g GFLOPs saved per unit of %s (least-squares slope over the sweep; the paper reports 1.3e3 GFLOPs/LPIPS at 512x512)\n",
                -(k * sxy - sx * sy) / denom, s.metric.c_str());
  plot_shares(s.out_dir + "/exit_shares.png", s.metric, thresholds, shares_all);
  plot_quality(s.out_dir + "/quality_per_exit.png", s.metric, f);

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
  std::fprintf(stderr, "eval: wrote %s/sweep.csv, per_exit.csv, exit_shares.png, quality_per_exit.png\n", s.out_dir.c_str());
}

}  // namespace fiancee::tools
