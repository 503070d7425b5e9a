#include "pipelines/package_pipeline.h"

#include "core/device.h"
#include "core/guide_db.h"
#include "models/registry.h"

namespace fiancee {

void PackagePipeline::start_engine(Device device, const std::string& database_location) {
  device_ = resolve_device(device);
  database_ = package_.guide_database(database_location);
  engine_ = std::make_unique<Engine>(models::load_graph(package_), package_.manifest(), database_, device_);

  const Manifest& m = package_.manifest();
  info_.num_exits = engine_->num_exits();
  for (const auto& sf : m.scale_factors) info_.scale_factors.push_back(sf.name);
  info_.default_scale_factor = m.default_scale_factor;
  info_.metric_name = m.metric;
  info_.metric_unit = m.metric_unit;
  info_.default_threshold = m.default_threshold;
  info_.device_name = device_.str();
  info_.backbone_gflops = m.scale_factors[0].route_gflops.back();
}

}  // namespace fiancee
