#include "pipelines/package_pipeline.h"

#include "core/device.h"
#include "core/guide_db.h"
#include "models/registry.h"

namespace fiancee {

void PackagePipeline::start_engine(Device device, const std::string& database_location) {
  device_ = resolve_device(device);
  database_ = package_.guide_database(database_location);
  engine_ = std::make_unique<Engine>(models::load_graph(package_), package_.manifest(), database_, device_);
}

}  // namespace fiancee
