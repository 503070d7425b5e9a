// The pipeline-independent half of `fiancee eval`: given every exit's
// predicted and measured quality on the same held-out frames, sweep the
// threshold and write the tables and plots (tools/eval_report.cc). The
// pipeline-specific halves render the frames: tools/eval.cc (reenactment),
// tools/eval_synth.cc (synthesis).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/calibration.h"
#include "tools/commands.h"

namespace fiancee {
class Package;
class ExitGraph;
class GuideDatabase;
class QualityMetric;
}  // namespace fiancee

namespace fiancee::tools {

// One batch of frames through every exit: predicted quality per exit (backbone
// column 0), each branch measured against the backbone with the database's
// guide and without it (no_db undefined when db is null), and every exit's
// images [N, exits, C, H, W] (backbone last).
struct ExitRows {
  torch::Tensor predicted, measured, measured_no_db, images;
};
// dtype: the number format the graph runs in (its weights set by set_dtype);
// inputs are cast to it, images and qualities come back in float.
ExitRows render_exits(ExitGraph& graph, const std::string& scale_factor, const torch::Tensor& input, const torch::Tensor& key,
                      const GuideDatabase* db, const QualityMetric& metric, torch::ScalarType dtype = torch::kFloat);

struct EvalFrames {
  torch::Tensor predicted;       // [F, exits] double (backbone column 0)
  torch::Tensor measured;        // [F, exits] distance to the backbone output (backbone column 0)
  torch::Tensor measured_no_db;  // [F, exits] branches without the guide database; undefined = no database

  // Stacks ExitRows of successive batches.
  static EvalFrames stack(const std::vector<ExitRows>& rows);
};

struct EvalSetup {
  std::string out_dir;
  std::string package;  // the manifest's name, for plot titles
  std::string split;    // which held-out frames, for plot titles ("test split"); set by the pipeline's eval
  std::string metric;
  std::string scale_factor;
  std::vector<double> gflops;  // route GFLOPs, backbone last
  std::optional<Calibration> calibration;  // the scale factor's calibration frames, when the package has them
  double default_threshold = 0.1;          // the package's
  double max_threshold = 0.5;
  double threshold_step = 0.025;
  std::string precision = "fp32";  // --precision, printed with the results
};

// What both pipelines' evals open first: the sweep settings from the command
// line (--out, --scale-factor, --max-threshold, --threshold-step, --precision),
// the package's graph (in eval mode, in that precision), its guide database and
// the 1 - MS-SSIM metric.
struct EvalContext {
  EvalSetup setup;
  std::shared_ptr<ExitGraph> graph;
  torch::ScalarType dtype = torch::kFloat;  // --precision: the graph's number format
  std::shared_ptr<GuideDatabase> db;
  std::unique_ptr<QualityMetric> metric;
  static EvalContext open(const Package& package, const Options& args);
};

// Prints and writes sweep.csv, per_exit.csv, exit_shares.png and .svg (Fig. 7 /
// Fig. 3 layout, with cost and quality per threshold) and quality_per_exit.png
// and .svg (Fig. S5 layout).
void report_sweep(const EvalFrames& frames, const EvalSetup& setup);

// `fiancee eval` of a synthesis package (tools/eval_synth.cc).
int eval_synth(const Package& package, const Options& args);

// OASIS noise of held-out scenes comes from the training pool of this many seeds (training/train_synth.cc).
inline constexpr uint64_t kSeenNoises = 8;
// A synthesis package's backbone inputs for label maps [N,H,W], scene i with noise seed (base + i) % modulo.
torch::Tensor synth_eval_inputs(const Package& package, const torch::Tensor& labels, uint64_t base, uint64_t modulo);

// `fiancee calibrate` (tools/calibrate.cc): `frames` held-out frames that eval
// does not read, every exit of every scale factor, stored in the package at dir.
// data: synthesis scenes ("procedural" or a Cityscapes-style folder).
void calibrate_package(const std::string& dir, int frames, const std::string& data, uint64_t seed);

// Mean absolute and mean signed predictor error per exit (Tables S3-S4/S6 style).
std::vector<std::pair<double, double>> predictor_error(const EvalFrames& frames);

}  // namespace fiancee::tools
