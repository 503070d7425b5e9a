// What a GStreamer element sees of a FIANCEE pipeline: frames in, frames out,
// a report per frame. No GLib and no LibTorch types here, so the element
// compiles fast and the pipelines are tested without GStreamer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/defaults.h"
#include "core/frame_report.h"

namespace fiancee {

// A packed 8-bit image in caller-owned memory (RGB: channels 3, GRAY8: channels 1).
struct ImageView {
  uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int stride = 0;  // bytes per row
  int channels = 3;
};

// Whether a pipeline runs an engine of its own or one shared by name with
// other pipelines of this process (core/shared_engine.h): one copy of the
// weights, frames of all its streams batched.
struct EngineSharing {
  std::string name;                                // empty = an engine of its own
  double window_ms = defaults::kBatchWindowMs;     // the longest a frame waits for other streams' frames
};

// What a pipeline says about itself: the element checks its settings against
// it and reports it in `stats`. Fixed once the pipeline is built.
struct PipelineInfo {
  int num_exits = 0;                       // backbone included (the last exit)
  std::vector<std::string> scale_factors;  // names, e.g. "1/8"
  std::string default_scale_factor;        // used when RouteSettings::scale_factor is empty
  std::string metric_name;                 // unit of thresholds and predictions, e.g. "1-ms-ssim"
  std::string metric_unit;                 // human-readable description of metric_name
  // The package's recommended quality threshold (used when the application sets none).
  double default_threshold = defaults::kQualityThreshold;
  std::string device_name;  // "cpu" or "cuda:0"
  std::string precision_name = "fp32";  // "fp32" or "bf16"
  double backbone_gflops = 0;  // of the backbone route (the same at every scale factor)
  std::map<std::string, std::vector<double>> route_gflops;  // per scale factor: GFLOPs per exit (backbone last)
  std::vector<std::string> calibrated_scale_factors;  // those with calibration frames (target miss rate possible)
  bool renders_without_network = false;  // honours RouteSettings::no_network (reenactment: the warp alone)
};

class FramePipeline {
 public:
  virtual ~FramePipeline() = default;
  // Renders one frame. `in` and `out` may differ in size; both keep their own.
  // Throws fiancee::Error subclasses with a message naming the input.
  virtual void process(const ImageView& in, const ImageView& out, const RouteSettings& settings,
                       FrameReport& report) = 0;
  virtual const PipelineInfo& info() const = 0;
};

}  // namespace fiancee
