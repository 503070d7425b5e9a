// What every FramePipeline built on one model package shares: the package,
// the device, the engine, and the element-facing facts read from the manifest.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/package.h"
#include "pipelines/frame_pipeline.h"

namespace fiancee {

class PackagePipeline : public FramePipeline {
 public:
  int num_exits() const override { return engine_->num_exits(); }
  std::vector<std::string> scale_factors() const override {
    std::vector<std::string> out;
    for (const auto& sf : package_.manifest().scale_factors) out.push_back(sf.name);
    return out;
  }
  std::string default_scale_factor() const override { return package_.manifest().default_scale_factor; }
  std::string metric_name() const override { return package_.manifest().metric; }
  std::string metric_unit() const override { return package_.manifest().metric_unit; }
  double default_threshold() const override { return package_.manifest().default_threshold; }
  std::string device_name() const override { return device_.str(); }
  double backbone_gflops() const override { return package_.manifest().scale_factors[0].route_gflops.back(); }

 protected:
  explicit PackagePipeline(Package package) : package_(std::move(package)) {}
  // Call once the subclass has checked the manifest: loads the graph and the database.
  void start_engine(Device device, const std::string& database_location);

  Package package_;
  torch::Device device_ = torch::kCPU;
  std::shared_ptr<GuideDatabase> database_;  // the engine's, or null
  std::unique_ptr<Engine> engine_;
};

}  // namespace fiancee
