#include "core/calibration.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/router.h"
#include "core/safetensors.h"

namespace fiancee {

namespace {

std::vector<std::vector<double>> rows(const safetensors::TensorMap& t, const std::string& name, const std::string& path, int exits) {
  const auto it = t.find(name);
  if (it == t.end()) throw PackageError(path + ": no tensor '" + name + "' (a calibration file holds 'predicted' and 'measured')");
  const auto& v = it->second;
  if (v.scalar_type() != torch::kDouble || v.dim() != 2 || v.size(1) != exits || v.size(0) < 1)
    throw PackageError(path + ": '" + name + "' must be float64 [frames, " + std::to_string(exits) + "] (one column per exit)");
  if (!torch::isfinite(v).all().item<bool>() || (v < 0).any().item<bool>())
    throw PackageError(path + ": '" + name + "' holds a value that is not a finite distance >= 0");
  const auto c = v.contiguous();
  std::vector<std::vector<double>> out(size_t(v.size(0)));
  for (int64_t i = 0; i < v.size(0); ++i) out[size_t(i)].assign(c[i].data_ptr<double>(), c[i].data_ptr<double>() + exits);
  return out;
}

torch::Tensor tensor(const std::vector<std::vector<double>>& r) {
  auto t = torch::zeros({int64_t(r.size()), r.empty() ? 0 : int64_t(r[0].size())}, torch::kDouble);
  for (size_t i = 0; i < r.size(); ++i)
    for (size_t e = 0; e < r[i].size(); ++e) t[int64_t(i)][int64_t(e)] = r[i][e];
  return t;
}

}  // namespace

Calibration Calibration::load(const std::string& path, int exits) {
  safetensors::Metadata meta;
  const auto t = safetensors::load(path, &meta);
  Calibration c;
  c.predicted = rows(t, "predicted", path, exits);
  c.measured = rows(t, "measured", path, exits);
  if (c.predicted.size() != c.measured.size()) throw PackageError(path + ": 'predicted' and 'measured' have different frame counts");
  c.split = meta.count("split") ? meta.at("split") : "";
  return c;
}

void Calibration::save(const std::string& path) const {
  safetensors::save(path, {{"predicted", tensor(predicted)}, {"measured", tensor(measured)}}, {{"split", split}});
}

int calibrated_exit(const std::vector<double>& predicted, const std::vector<double>& gflops, double threshold, double margin) {
  // predicted + margin < threshold  <=>  predicted < threshold - margin.
  return choose_route(predicted, gflops, threshold - margin, -1, false).exit;
}

double miss_rate(const Calibration& c, const std::vector<double>& gflops, double threshold, double margin) {
  int misses = 0;
  for (int i = 0; i < c.frames(); ++i) {
    const int e = calibrated_exit(c.predicted[size_t(i)], gflops, threshold, margin);
    if (e + 1 < int(gflops.size()) && c.measured[size_t(i)][size_t(e)] >= threshold) ++misses;
  }
  return c.frames() ? double(misses) / c.frames() : 0.0;
}

double conformal_margin(const Calibration& c, const std::vector<double>& gflops, double threshold, double target_miss_rate) {
  if (!(target_miss_rate > 0 && target_miss_rate < 1)) throw InputError("target miss rate must be in (0, 1)");
  const int exits = int(gflops.size());
  if (c.frames() == 0 || int(c.predicted[0].size()) != exits)
    throw InputError("calibration has " + std::to_string(c.frames() ? c.predicted[0].size() : 0) + " exits, the route table " +
                     std::to_string(exits));
  const double n = c.frames();
  const auto bound_holds = [&](double m) { return (n * miss_rate(c, gflops, threshold, m) + 1) / (n + 1) <= target_miss_rate; };
  const double never = std::numeric_limits<double>::infinity();  // no branch qualifies: every frame takes the backbone
  if (!bound_holds(never)) return never;
  // The routed exits change only where threshold - prediction crosses the
  // margin; at each such margin that prediction no longer qualifies.
  std::vector<double> crossings;
  for (const auto& p : c.predicted)
    for (int e = 0; e + 1 < exits; ++e) crossings.push_back(threshold - p[size_t(e)]);
  std::sort(crossings.begin(), crossings.end());
  crossings.erase(std::unique(crossings.begin(), crossings.end()), crossings.end());
  crossings.insert(crossings.begin(), -never);  // below every crossing: every branch qualifies
  // From the cautious end down, while the bound still holds (monotone in m by construction).
  double margin = never;
  for (auto it = crossings.rbegin(); it != crossings.rend() && bound_holds(*it); ++it) margin = *it;
  return margin;
}

}  // namespace fiancee
