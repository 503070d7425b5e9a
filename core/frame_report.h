// Routing controls and the per-frame report of the early-exit engine. Plain
// C++ (no LibTorch, no GLib): the element and the stats read them directly.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/defaults.h"

namespace fiancee {

enum class Device { Auto, Cpu, Cuda };

// The number format the networks run in. Bf16: bfloat16 weights and
// activations (CPU with AVX-512 BF16 or AMX, or CUDA); images and reports stay float.
enum class Precision { Fp32, Bf16 };

// Per-frame routing controls; may change between any two frames.
struct RouteSettings {
  double quality_threshold = defaults::kQualityThreshold;  // in the package metric's unit; exits predicted below it qualify
  std::string scale_factor;        // e.g. "1/8"; empty = package default
  int forced_exit = defaults::kPredictedRoute;  // -1 = predicted route; 0..num_exits-1 forces that exit
  bool late = false;               // frame is late downstream (QoS): take the cheapest exit
  bool measure = false;            // also render the backbone and report the taken exit's measured quality (slower)
  int min_exit = -1;               // the cheapest exit the router may pick (ExitHysteresis holds a costlier one); -1 = any
  double target_miss_rate = 0;     // > 0: predictions get the package's conformal margin for this miss rate (core/calibration.h); 0 = off
  double latency_budget_ms = 0;    // > 0: the route must fit this time per frame (fit_budget); 0 = off
  std::vector<double> route_ms;    // estimated time per exit for the budget (RouteTimes); empty = not yet known
  bool no_network = false;         // render without any network where the pipeline can (reenactment: the warp alone)
};

struct FrameReport {
  int exit = -1;                       // 0..num_exits-1; num_exits-1 is the backbone
  int num_exits = 0;
  bool forced = false;                 // exit came from RouteSettings::forced_exit
  bool late = false;                   // routed to the cheapest exit because of QoS
  bool fell_back = false;              // chosen exit gave NaN/Inf; backbone used instead
  int wanted_exit = -1;                // the router's own choice, before RouteSettings::min_exit held a costlier exit
  bool held = false;                   // exit > wanted_exit because of RouteSettings::min_exit
  double threshold = 0;                // what the predictions were compared with: the quality threshold minus the calibrated margin
  bool budget_limited = false;         // the latency budget took an exit not predicted below the threshold (a quality miss)
  bool passthrough = false;            // frame copied unchanged (e.g. no face found)
  std::vector<double> predicted;       // predicted quality per exit (backbone: 0)
  double measured = -1;                // measured distance of the taken exit to the backbone (-1: not measured)
  double gflops = 0;                   // GFLOPs of the route taken (from the manifest)
  double backbone_gflops = 0;
  std::vector<std::pair<std::string, double>> stage_ms;  // wall time per stage
  double total_ms = 0;                 // the engine's time per frame (its batch's time / frames in it)
  int batch = 1;                       // frames in the engine batch this frame ran in (> 1: with other streams' frames, shared engine)
  double frame_ms = 0;                 // the element's whole time for the frame (front end, engine, framing); 0 = not measured
  bool over_budget = false;            // frame_ms exceeded RouteSettings::latency_budget_ms
  std::string scale_factor;
  std::string warning;                 // non-empty: post as a warning, processing went on
};

}  // namespace fiancee
