// The router: picks, per frame, the cheapest exit whose predicted quality
// distance is strictly below the threshold; the backbone (last exit,
// distance 0 by definition) when none is. Plain C++ so it is tested alone.
#pragma once

#include <vector>

namespace fiancee {

struct RouteChoice {
  int exit = -1;
  bool forced = false;
  bool late = false;
};

// predicted: one distance per exit (backbone last, 0); gflops: cost per exit
// (backbone last). forced_exit >= 0 overrides; late picks the cheapest exit.
// Throws InputError when forced_exit is out of range or sizes disagree.
RouteChoice choose_route(const std::vector<double>& predicted, const std::vector<double>& gflops, double threshold,
                         int forced_exit, bool late);

// The route within a latency budget. `exit` when its estimated time
// (route_ms, one per exit) fits budget_ms; else the cheapest exit that fits
// and is predicted below the threshold; else the fitting exit predicted best
// (the budget wins over quality); else the fastest exit.
int fit_budget(int exit, const std::vector<double>& predicted, const std::vector<double>& gflops, double threshold,
               const std::vector<double>& route_ms, double budget_ms);

}  // namespace fiancee
