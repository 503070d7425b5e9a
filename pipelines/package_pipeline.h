// What every FramePipeline built on one model package shares: the package,
// the device, the engine, and the element-facing facts read from the manifest.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "core/engine.h"
#include "core/shared_engine.h"
#include "core/package.h"
#include "pipelines/frame_pipeline.h"

namespace fiancee {

// What an element checks before it loads the weights of `package`: that its
// family runs its pipeline ("reenact" or "synth"), and the channel counts and
// sizes that pipeline feeds and reads. PackageError naming the package.
// `fiancee inspect` runs the same checks, so "valid" means an element starts.
void check_pipeline_package(const Package& package);

class PackagePipeline : public FramePipeline {
 public:
  const PipelineInfo& info() const override { return info_; }

 protected:
  explicit PackagePipeline(Package package) : package_(std::move(package)) {}
  // Call once the subclass has checked the manifest: loads the graph and the
  // database (or joins the shared engine that already holds them), and fills
  // info() from the manifest and the device.
  void start_engine(Device device, Precision precision, const std::string& database_location, const EngineSharing& sharing);

  Package package_;
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<SharedEngine::Stream> engine_;  // this pipeline's own engine, or its stream of a shared one
  PipelineInfo& mutable_info() { return info_; }

 private:
  PipelineInfo info_;
};

}  // namespace fiancee
