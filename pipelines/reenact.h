// The reenactment pipeline: a source avatar animated by driver frames.
#pragma once

#include <memory>
#include <string>

#include "pipelines/frame_pipeline.h"

namespace fiancee {

struct ReenactOptions {
  std::string model_location;     // package directory
  std::string source_location;    // avatar image (PNG/JPEG/...)
  std::string database_location;  // overrides the package's guide database; empty = package's
  Device device = Device::Auto;
};

// Loads and validates everything up front; throws PackageError / InputError /
// UnavailableError naming the offending file or setting.
std::unique_ptr<FramePipeline> make_reenact_pipeline(const ReenactOptions& options);

}  // namespace fiancee
