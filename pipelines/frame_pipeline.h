// What a GStreamer element sees of a FIANCEE pipeline: frames in, frames out,
// a report per frame. No GLib and no LibTorch types here, so the element
// compiles fast and the pipelines are tested without GStreamer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

class FramePipeline {
 public:
  virtual ~FramePipeline() = default;
  // Renders one frame. `in` and `out` may differ in size; both keep their own.
  // Throws fiancee::Error subclasses with a message naming the input.
  virtual void process(const ImageView& in, const ImageView& out, const RouteSettings& settings,
                       FrameReport& report) = 0;
  virtual int num_exits() const = 0;
  virtual std::vector<std::string> scale_factors() const = 0;
  virtual std::string default_scale_factor() const = 0;
  virtual std::string metric_name() const = 0;
  virtual std::string metric_unit() const = 0;
  // The package's recommended quality threshold (used when the application sets none).
  virtual double default_threshold() const = 0;
  virtual std::string device_name() const = 0;  // "cpu" or "cuda:0"
  // Backbone GFLOPs; the element's latency estimate scales measured time by it.
  virtual double backbone_gflops() const = 0;
};

}  // namespace fiancee
