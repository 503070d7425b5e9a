// `fiancee eval`: dispatch by pipeline, and the reenactment half on held-out
// procedural identities (never seen in training): self-reenactment pairs
// turned into refiner inputs exactly as at run time. Every exit renders every
// frame once, so each threshold's routing is evaluated on the same measured
// qualities (tools/eval_report.h); and since procedural pairs have ground
// truth, the warp alone, every exit and the routed choice are also measured
// against the true frame (truth.csv), and the first frames are shown side by
// side (contact-sheet.png).
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <fstream>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/metrics.h"
#include "core/package.h"
#include "core/router.h"
#include "datasets/reenact_data.h"
#include "pipelines/reenact_inputs.h"
#include "tools/commands.h"
#include "tools/contact_sheet.h"
#include "tools/eval_report.h"

namespace fiancee::tools {

namespace {

// Errors to the true frame, summed over frames, per variant: warp-only, each exit, routed.
class TruthTable {
 public:
  TruthTable(int exits, std::vector<double> gflops, double threshold)
      : exits_(exits), gflops_(std::move(gflops)), threshold_(threshold), sums_(exits + 2) {}

  void add(const reenact::Batch& b, const std::vector<reenact::Pair>& pairs, const ExitRows& rows, const QualityMetric& metric) {
    const int64_t k = b.driver.size(0);
    for (int64_t i = 0; i < k; ++i) {
      const int size = int(b.driver.size(3));
      const auto mouth = reenact::mouth_box(pairs[size_t(i)].driver_landmarks, size);
      const auto eyes = reenact::eyes_box(pairs[size_t(i)].driver_landmarks, size);
      std::vector<double> p(rows.predicted[i].data_ptr<double>(), rows.predicted[i].data_ptr<double>() + exits_);
      const int routed = choose_route(p, gflops_, threshold_, -1, false).exit;
      const auto truth = b.driver[i].unsqueeze(0);
      for (int v = 0; v < exits_ + 2; ++v) {
        const int exit = v == 0 ? -1 : v <= exits_ ? v - 1 : routed;
        const auto image = exit < 0 ? b.warped[i].unsqueeze(0) : rows.images[i][exit].unsqueeze(0);
        auto& s = sums_[size_t(v)];
        s[0] += metric.distance(image, truth).item<double>();
        s[1] += l1(image, truth, cv::Rect(0, 0, int(truth.size(3)), int(truth.size(2))));
        s[2] += l1(image, truth, mouth);
        s[3] += l1(image, truth, eyes);
        s[4] += exit < 0 ? 0.0 : gflops_[size_t(exit)] / gflops_.back();
      }
      ++frames_;
    }
  }

  // Prints the table and writes truth.csv.
  void report(const std::string& out_dir, const std::string& title) const {
    const std::string path = out_dir + "/truth.csv";
    std::ofstream csv(path);
    csv << "variant,frames,one_minus_ms_ssim,l1,l1_mouth,l1_eyes,gflops_share\n";
    std::printf("%s: error to the true frame (L1 in [0,1] pixel units; regions from the true landmarks)\n", title.c_str());
    std::printf("%-10s %7s %17s %8s %9s %8s %13s\n", "variant", "frames", "1-MS-SSIM", "L1", "L1 mouth", "L1 eyes", "GFLOPs share");
    for (int v = 0; v < exits_ + 2; ++v) {
      const std::string name = v == 0 ? "warp-only" : v == exits_ ? "backbone" : v <= exits_ ? "exit" + std::to_string(v - 1) : "routed";
      const auto& s = sums_[size_t(v)];
      const double n = std::max(frames_, 1);
      std::printf("%-10s %7d %17.4f %8.4f %9.4f %8.4f %13.3f\n", name.c_str(), frames_, s[0] / n, s[1] / n, s[2] / n, s[3] / n, s[4] / n);
      csv << name << "," << frames_ << "," << s[0] / n << "," << s[1] / n << "," << s[2] / n << "," << s[3] / n << "," << s[4] / n << "\n";
    }
    const auto& w = sums_[0];
    const auto& bb = sums_[size_t(exits_)];
    std::printf("backbone vs warp-only: 1-MS-SSIM %+.1f%%, L1 %+.1f%%, L1 mouth %+.1f%% (negative = better than the warp)\n",
                100.0 * (bb[0] / w[0] - 1), 100.0 * (bb[1] / w[1] - 1), 100.0 * (bb[2] / w[2] - 1));
    if (!csv) throw Error(path + ": cannot write");
  }

 private:
  // Mean absolute difference inside r, in [0,1] pixel units (images are in [-1,1]).
  static double l1(const torch::Tensor& a, const torch::Tensor& b, const cv::Rect& r) {
    if (r.empty()) return 0.0;
    auto crop = [&](const torch::Tensor& t) { return t.slice(2, r.y, r.y + r.height).slice(3, r.x, r.x + r.width); };
    return (crop(a) - crop(b)).abs().mean().item<double>() / 2.0;
  }

  int exits_;
  std::vector<double> gflops_;
  double threshold_;
  std::vector<std::array<double, 5>> sums_;
  int frames_ = 0;
};

// Columns source | warp-only | exit 0.. | backbone | truth for the first rows of a chunk.
class Sheet {
 public:
  explicit Sheet(int exits) : columns_(size_t(exits) + 3) {
    titles_.push_back("source");
    titles_.push_back("warp-only");
    for (int e = 0; e + 1 < exits; ++e) titles_.push_back("exit" + std::to_string(e));
    titles_.push_back("backbone");
    titles_.push_back("truth");
  }

  void add(const reenact::Batch& b, const ExitRows& rows, int wanted) {
    for (int64_t i = 0; i < b.driver.size(0) && int(columns_[0].size()) < wanted; ++i) {
      columns_[0].push_back(reenact::tensor_to_rgb8(b.source[i]));
      columns_[1].push_back(reenact::tensor_to_rgb8(b.warped[i]));
      for (size_t e = 0; e + 3 < columns_.size(); ++e) columns_[e + 2].push_back(reenact::tensor_to_rgb8(rows.images[i][int64_t(e)]));
      columns_.back().push_back(reenact::tensor_to_rgb8(b.driver[i]));
    }
  }

  void write(const std::string& path) const {
    if (!columns_[0].empty()) write_sheet(path, titles_, columns_);
  }

 private:
  std::vector<std::string> titles_;
  std::vector<std::vector<cv::Mat>> columns_;
};

}  // namespace

int eval(const Options& args) {
  if (args.positional.size() != 1) throw InputError("eval takes one package directory");
  const auto pkg = Package::open(args.positional[0]);
  const auto& m = pkg.manifest();
  if (m.pipeline == "synth") return eval_synth(pkg, args);
  if (m.pipeline != "reenact") throw InputError(pkg.dir() + ": eval handles reenact and synth packages, not '" + m.pipeline + "'");
  const int n = args.integer("--frames", 200);
  auto c = EvalContext::open(pkg, args);
  // Two disjoint sets of held-out identities: thresholds are picked on validation, reported on test.
  const std::string split = args.get("--split", "test");
  if (split != "test" && split != "validation") throw InputError("--split must be test or validation");
  c.setup.split = split + " split";
  reenact::ProceduralHeads heads(m.input.width, reenact::kHeldOutIdentities, static_cast<uint64_t>(args.integer("--seed", 1)),
                                 split == "test" ? reenact::kTestIdentities : reenact::kValidationIdentities);
  TruthTable truth(m.num_exits(), c.setup.gflops, m.default_threshold);
  const int sheet_rows = args.integer("--sheet-frames", 6);
  if (sheet_rows < 0) throw InputError("--sheet-frames must be >= 0");
  Sheet sheet(m.num_exits());
  std::vector<ExitRows> rows;
  const int chunk = 10;
  for (int start = 0; start < n; start += chunk) {
    const int k = std::min(chunk, n - start);
    const auto pairs = heads.pairs(k, static_cast<uint64_t>(start));
    const auto b = reenact::make_batch(pairs, 0.f, static_cast<uint64_t>(start));
    rows.push_back(render_exits(*c.graph, c.setup.scale_factor, b.input, b.key, c.db.get(), *c.metric, c.dtype));
    truth.add(b, pairs, rows.back(), *c.metric);
    sheet.add(b, rows.back(), sheet_rows);
    rows.back().images = torch::Tensor();  // only this chunk's truth needs them
    std::fprintf(stderr, "\reval: %d/%d frames", start + k, n);
  }
  std::fprintf(stderr, "\n");
  report_sweep(EvalFrames::stack(rows), c.setup);
  truth.report(c.setup.out_dir, m.name + " · " + c.setup.split + " · routed at the default threshold " + std::to_string(m.default_threshold));
  sheet.write(c.setup.out_dir + "/contact-sheet.png");
  return 0;
}

}  // namespace fiancee::tools
