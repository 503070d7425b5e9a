#include "core/router.h"

#include <string>

#include "core/errors.h"

namespace fiancee {

RouteChoice choose_route(const std::vector<double>& predicted, const std::vector<double>& gflops, double threshold,
                         int forced_exit, bool late) {
  const int n = static_cast<int>(gflops.size());
  if (n == 0 || predicted.size() != gflops.size())
    throw InputError("router: " + std::to_string(predicted.size()) + " predictions for " + std::to_string(n) + " exits");
  RouteChoice choice;
  if (forced_exit >= 0) {
    if (forced_exit >= n)
      throw InputError("exit " + std::to_string(forced_exit) + " does not exist: the model has exits 0.." + std::to_string(n - 1) +
                       " (" + std::to_string(n - 1) + " = backbone)");
    choice.exit = forced_exit;
    choice.forced = true;
    return choice;
  }
  choice.exit = n - 1;
  if (late) {
    choice.late = true;
    for (int e = 0; e < n; ++e)
      if (gflops[e] < gflops[choice.exit]) choice.exit = e;
    return choice;
  }
  // Strictly below: threshold 0 always means the backbone.
  for (int e = 0; e < n - 1; ++e)
    if (predicted[e] < threshold && gflops[e] < gflops[choice.exit]) choice.exit = e;
  return choice;
}

int fit_budget(int exit, const std::vector<double>& predicted, const std::vector<double>& gflops, double threshold,
               const std::vector<double>& route_ms, double budget_ms) {
  const int n = static_cast<int>(gflops.size());
  if (predicted.size() != gflops.size() || route_ms.size() != gflops.size() || exit < 0 || exit >= n)
    throw InputError("router: budget routing needs one prediction, cost and time per exit");
  if (route_ms[exit] <= budget_ms) return exit;
  int qualified = -1, best = -1, fastest = 0;
  for (int e = 0; e < n; ++e) {
    if (route_ms[e] < route_ms[fastest]) fastest = e;
    if (route_ms[e] > budget_ms) continue;
    if (predicted[e] < threshold && (qualified < 0 || gflops[e] < gflops[qualified])) qualified = e;
    if (best < 0 || predicted[e] < predicted[best]) best = e;
  }
  return qualified >= 0 ? qualified : best >= 0 ? best : fastest;
}

}  // namespace fiancee
