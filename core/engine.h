// The early-exit engine: runs the front, asks the predictor, routes each
// frame of a batch to its exit, and runs every backbone stage once for all
// frames that still need it (frames leave the batch at their exit's attach
// point). A branch whose output is not finite falls back to the backbone from
// the same cached features.
#pragma once

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/calibration.h"
#include "core/frame_report.h"
#include "core/manifest.h"

namespace fiancee {

class ExitGraph;
class GuideDatabase;
class QualityMetric;

// The branches' guide for frames whose front output is front_out: what the
// graph's own query finds (OASIS patches), else what the caller's key finds.
// Undefined when neither applies. The engine, training and eval all use it.
torch::Tensor lookup_guide(ExitGraph& graph, const GuideDatabase& db, const torch::Tensor& front_out, const torch::Tensor& key);

struct EngineOutput {
  torch::Tensor images;              // [N,3,H,W] float in the package's output range, on the host
  std::vector<FrameReport> reports;  // one per frame
};

class Engine {
 public:
  // graph must already hold the package's weights; db may be null.
  Engine(std::shared_ptr<ExitGraph> graph, Manifest manifest, std::shared_ptr<GuideDatabase> db, torch::Device device);

  // input [N,C,H,W] float (any device); key [N,D] guide/predictor key or undefined.
  // settings: one per frame (frames of several streams in one batch, each
  // routed by its own threshold, QoS, hold and budget), or one for all. All
  // frames of a batch use one scale factor (InputError otherwise).
  EngineOutput run(const torch::Tensor& input, const torch::Tensor& key, const std::vector<RouteSettings>& settings);
  EngineOutput run(const torch::Tensor& input, const torch::Tensor& key, const RouteSettings& settings) {
    return run(input, key, std::vector<RouteSettings>{settings});
  }

  // Calibration frames per scale factor (Package::calibrations()), for RouteSettings::target_miss_rate.
  void set_calibrations(std::map<std::string, Calibration> calibrations) {
    calibrations_ = std::move(calibrations);
    margin_cache_ = {};  // a margin of the old frames must not outlive them
  }
  bool calibrated(const std::string& scale_factor) const { return calibrations_.count(scale_factor) > 0; }
  const std::map<std::string, Calibration>& calibrations() const { return calibrations_; }

  const Manifest& manifest() const { return manifest_; }
  const torch::Device& device() const { return device_; }
  int num_exits() const { return manifest_.num_exits(); }
  bool channels_last() const { return channels_last_; }  // CPU activations and weights in NHWC

  // Per-stage wall times in FrameReport::stage_ms. On a GPU each timed stage
  // waits for the device, so it is off there by default (the frame's total
  // time is always measured); on the CPU it costs nothing and is on.
  void set_stage_timing(bool on) { stage_timing_ = on; }
  bool stage_timing() const { return stage_timing_; }

  // Runs the networks in `precision` from now on. Bf16 is checked at once by
  // rendering a probe frame through every route of every scale factor: a
  // graph or an operation without bfloat16 support is an UnavailableError
  // naming the model (and the engine stays in float). Back to Fp32 after
  // Bf16, the weights keep their bf16 rounding: load the package again for
  // the original ones.
  void set_precision(Precision precision);
  Precision precision() const { return dtype_ == torch::kBFloat16 ? Precision::Bf16 : Precision::Fp32; }

 private:
  std::shared_ptr<ExitGraph> graph_;
  Manifest manifest_;
  std::shared_ptr<GuideDatabase> db_;
  torch::Device device_;
  std::shared_ptr<QualityMetric> metric_;  // made on the first measured frame
  bool channels_last_ = false;             // CPU: activations and weights in NHWC (runtime::channels_last)
  bool stage_timing_ = true;               // set_stage_timing
  torch::ScalarType dtype_ = torch::kFloat;  // of weights and activations (set_precision)
  std::map<std::string, Calibration> calibrations_;
  // Conformal margins by (scale factor, threshold, rate): settings change
  // rarely, the search costs a few ms, and a shared engine serves several.
  std::map<std::tuple<std::string, double, double>, double> margin_cache_;

  // quality_threshold minus the calibrated margin (or unchanged: no target, no calibration).
  double routing_threshold(const std::string& scale_factor, const RouteSettings& settings);
};

}  // namespace fiancee
