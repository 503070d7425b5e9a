// `fiancee eval`: the threshold sweep of a reenactment package on held-out
// driver frames (procedural renders of the package's avatar identity in poses
// and expressions never used for training or the database). For every frame
// every exit is rendered once, so each threshold's routing is evaluated on the
// same measured qualities.
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/package.h"
#include "core/router.h"
#include "models/registry.h"
#include "pipelines/reenact_data.h"
#include "pipelines/reenact_inputs.h"
#include "tools/args.h"

namespace fiancee::tools {

namespace {

struct Frames {
  torch::Tensor predicted;  // [F, exits]  (backbone column 0)
  torch::Tensor measured;   // [F, exits]  1 - MS-SSIM vs the backbone (backbone column 0)
  torch::Tensor measured_no_db;  // [F, exits] branches fed a zero guide
};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

// Stacked bars of exit shares per threshold (the paper's Fig. 7 layout).
void plot_shares(const std::string& path, const std::vector<double>& thresholds, const std::vector<std::vector<double>>& shares) {
  const int w = 80 + 40 * static_cast<int>(thresholds.size()), h = 360, top = 20, bottom = 300;
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Scalar colours[] = {{80, 175, 76}, {243, 150, 33}, {7, 193, 255}, {54, 67, 244}, {156, 39, 176}, {121, 85, 72}};
  for (size_t t = 0; t < thresholds.size(); ++t) {
    double y = bottom;
    const int x = 60 + 40 * static_cast<int>(t);
    for (size_t e = 0; e < shares[t].size(); ++e) {
      const double hgt = shares[t][e] * (bottom - top);
      cv::rectangle(img, cv::Point(x, static_cast<int>(y - hgt)), cv::Point(x + 30, static_cast<int>(y)), colours[e % 6], cv::FILLED);
      y -= hgt;
    }
    char label[16];
    std::snprintf(label, sizeof label, "%.2f", thresholds[t]);
    cv::putText(img, label, cv::Point(x - 2, bottom + 18), cv::FONT_HERSHEY_SIMPLEX, 0.35, cv::Scalar(0, 0, 0));
  }
  cv::putText(img, "threshold (1 - MS-SSIM); bars: share of frames per exit, bottom = exit 0, top = backbone",
              cv::Point(10, h - 20), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0));
  cv::imwrite(path, img);
}

}  // namespace

int eval(const Args& args) {
  if (args.positional.size() != 1) throw InputError("eval takes one reenactment package directory");
  const auto pkg = Package::open(args.positional[0]);
  const auto& m = pkg.manifest();
  if (m.pipeline != "reenact") throw InputError(pkg.dir() + ": eval handles reenact packages for now");
  const std::string out_dir = args.get("--out", "eval-out");
  std::filesystem::create_directories(out_dir);
  const int n = args.integer("--frames", 200);
  const std::string sf = args.get("--scale-factor", m.default_scale_factor);
  const auto& gflops = m.scale_factor(sf).route_gflops;
  const int exits = m.num_exits(), bb = exits - 1;
  auto graph = models::load_graph(pkg);
  graph->eval();
  auto db = pkg.guide_database();
  const auto metric = make_ms_ssim_distance();

  // Held-out frames: identity 0 (the avatar), a salt no training or database run uses.
  reenact::ProceduralHeads heads(m.input.width, 1, 0, static_cast<uint64_t>(args.integer("--seed", 1)));
  torch::NoGradGuard no_grad;
  auto source = heads.source(0).unsqueeze(0);
  std::vector<torch::Tensor> pred_rows, meas_rows, nodb_rows;
  const int chunk = 10;
  for (int start = 0; start < n; start += chunk) {
    const int k = std::min(chunk, n - start);
    auto frames = heads.frames(0, k, 0xE7A1 + static_cast<uint64_t>(start));
    auto x = graph->front(reenact::backbone_input(source, frames.keys));
    auto predicted = graph->predict(sf, x, frames.keys).clamp_min(0);
    std::vector<torch::Tensor> levels{x};
    for (int s = 1; s <= graph->num_stages(); ++s) levels.push_back(graph->stage(s, levels.back()));
    auto backbone = graph->head(levels.back());
    auto guide = db ? db->lookup(frames.keys).values : torch::Tensor();
    auto meas = torch::zeros({k, exits}), nodb = torch::zeros({k, exits});
    for (int e = 0; e < bb; ++e) {
      const auto& at = levels[graph->attach_point(e)];
      meas.select(1, e).copy_(metric->distance(graph->branch(sf, e, at, guide), backbone));
      nodb.select(1, e).copy_(metric->distance(graph->branch(sf, e, at, torch::Tensor()), backbone));
    }
    pred_rows.push_back(torch::cat({predicted, torch::zeros({k, 1})}, 1));
    meas_rows.push_back(meas);
    nodb_rows.push_back(nodb);
    std::fprintf(stderr, "\reval: %d/%d frames", start + k, n);
  }
  std::fprintf(stderr, "\n");
  Frames f{torch::cat(pred_rows).to(torch::kDouble), torch::cat(meas_rows).to(torch::kDouble), torch::cat(nodb_rows).to(torch::kDouble)};

  // Threshold sweep.
  std::vector<double> thresholds;
  for (double t = 0; t <= std::stod(args.get("--max-threshold", "0.5")) + 1e-9; t += std::stod(args.get("--threshold-step", "0.025")))
    thresholds.push_back(t);
  std::ofstream sweep(out_dir + "/sweep.csv");
  sweep << "threshold,mean_gflops,gflops_share,mean_quality,p95_quality,miss_share";
  for (int e = 0; e < exits; ++e) sweep << ",share_exit" << e;
  sweep << "\n";
  std::printf("scale factor %s, %d held-out frames, metric %s (distance to the backbone output)\n", sf.c_str(), n, m.metric.c_str());
  std::printf("%9s %11s %7s %9s %9s %7s  exit shares (0..%d, last = backbone)\n", "threshold", "mean GFLOPs", "of BB", "mean q", "p95 q", "miss", bb);
  std::vector<std::vector<double>> shares_all;
  std::vector<double> mean_g, mean_q;
  for (double t : thresholds) {
    std::vector<double> shares(exits, 0.0), qualities;
    double g = 0;
    int misses = 0;
    for (int i = 0; i < n; ++i) {
      std::vector<double> p(exits);
      for (int e = 0; e < exits; ++e) p[e] = f.predicted[i][e].item<double>();
      const int e = choose_route(p, gflops, t, -1, false).exit;
      shares[e] += 1.0 / n;
      g += gflops[e] / n;
      const double q = f.measured[i][e].item<double>();
      qualities.push_back(q);
      if (e != bb && q >= t) ++misses;
    }
    double mq = 0;
    for (double q : qualities) mq += q / n;
    const double miss = static_cast<double>(misses) / n;
    sweep << t << "," << g << "," << g / gflops[bb] << "," << mq << "," << quantile(qualities, 0.95) << "," << miss;
    for (double s : shares) sweep << "," << s;
    sweep << "\n";
    std::printf("%9.3f %11.4f %7.3f %9.4f %9.4f %7.3f ", t, g, g / gflops[bb], mq, quantile(qualities, 0.95), miss);
    for (double s : shares) std::printf(" %5.2f", s);
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
                -(k * sxy - sx * sy) / denom, m.metric.c_str());
  plot_shares(out_dir + "/exit_shares.png", thresholds, shares_all);

  // Database effect and predictor error per exit (Tables S5/S6 style).
  std::ofstream per_exit(out_dir + "/per_exit.csv");
  per_exit << "exit,gflops,mean_quality_with_db,mean_quality_without_db,p95_quality_with_db,predictor_mae,predictor_mean_error\n";
  std::printf("\n%5s %9s %14s %14s %14s %14s\n", "exit", "GFLOPs", "q with DB", "q without DB", "pred. MAE", "pred. bias");
  for (int e = 0; e < bb; ++e) {
    auto meas = f.measured.select(1, e), nodb = f.measured_no_db.select(1, e), err = f.predicted.select(1, e) - meas;
    std::vector<double> mv(meas.data_ptr<double>(), meas.data_ptr<double>() + n);
    const double mae = err.abs().mean().item<double>(), bias = err.mean().item<double>();
    std::printf("%5d %9.4f %14.4f %14.4f %14.4f %14.4f\n", e, gflops[e], meas.mean().item<double>(), nodb.mean().item<double>(), mae, bias);
    per_exit << e << "," << gflops[e] << "," << meas.mean().item<double>() << "," << nodb.mean().item<double>() << "," << quantile(mv, 0.95)
             << "," << mae << "," << bias << "\n";
  }
  std::fprintf(stderr, "eval: wrote %s/sweep.csv, per_exit.csv, exit_shares.png\n", out_dir.c_str());
  return 0;
}

}  // namespace fiancee::tools
