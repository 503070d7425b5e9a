// A calibrated miss rate (split-conformal risk control). The predictor's
// errors are not symmetric or small enough for "predicted below the threshold"
// to mean "measured below it" as often as a user needs. A package may carry,
// per scale factor, every exit's predicted and measured quality on frames that
// neither training nor the evaluation saw (the calibration split). For a
// requested miss rate a, the router then compares each exit's prediction plus
// one margin m against the threshold, m being the smallest margin at which the
// calibration frames' routed miss rate R(m) satisfies
//   (n R(m) + 1) / (n + 1) <= a   (and does so for every larger margin too),
// which bounds the expected miss rate on new exchangeable frames by a
// (Angelopoulos et al., "Conformal risk control", 2022). A miss is a frame
// whose taken exit's measured distance to the backbone is >= the threshold.
// The margin may be negative: a cautious predictor then routes cheaper; -inf
// when even routing every frame to its cheapest exit keeps the bound.
// Plain C++ apart from loading/saving (safetensors).
#pragma once

#include <string>
#include <vector>

namespace fiancee {

struct Calibration {
  std::vector<std::vector<double>> predicted;  // [frame][exit], backbone last (0)
  std::vector<std::vector<double>> measured;   // [frame][exit], distance to the backbone (backbone 0)
  std::string split;                           // which frames, for people reading the package

  int frames() const { return static_cast<int>(predicted.size()); }

  // The file of a package: tensors "predicted" and "measured" [frames, exits]
  // (float64), metadata "split". PackageError naming the file when the shapes
  // disagree with `exits` or a value is not a finite distance >= 0.
  static Calibration load(const std::string& path, int exits);
  void save(const std::string& path) const;
};

// The router's choice on one calibration frame with every prediction raised by margin.
int calibrated_exit(const std::vector<double>& predicted, const std::vector<double>& gflops, double threshold, double margin);

// Share of calibration frames whose routed exit misses the threshold at this margin.
double miss_rate(const Calibration& c, const std::vector<double>& gflops, double threshold, double margin);

// The conformal margin for target_miss_rate in (0, 1). When no margin keeps
// the bound (too few frames: a < 1/(n+1)), a margin that routes every frame to
// the backbone. InputError when gflops does not match the calibration's exits.
double conformal_margin(const Calibration& c, const std::vector<double>& gflops, double threshold, double target_miss_rate);

}  // namespace fiancee
