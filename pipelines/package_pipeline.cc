#include "pipelines/package_pipeline.h"

#include <filesystem>

#include "core/device.h"
#include "core/errors.h"
#include "core/guide_db.h"
#include "models/registry.h"
#include "pipelines/reenact_inputs.h"
#include "pipelines/synth_inputs.h"

namespace fiancee {

namespace fs = std::filesystem;

void check_pipeline_package(const Package& package) {
  const Manifest& m = package.manifest();
  const std::string& dir = package.dir();
  const models::Family& family = models::family(m.family, package.path("manifest.json"));
  const auto size = [](const ImageSpec& s) {
    return std::to_string(s.channels) + " channels at " + std::to_string(s.width) + "x" + std::to_string(s.height);
  };
  if (m.pipeline == "reenact") {
    if (!family.reenact)
      throw PackageError(dir + ": architecture family '" + m.family + "' renders no reenactment (its input is not an image)");
    if (m.input.channels != reenact::kRefinerInputChannels || m.output.channels != 3 || m.input.width != m.input.height ||
        m.output.width != m.input.width || m.output.height != m.input.height)
      throw PackageError(dir + ": not a warp-refiner package (square, " + std::to_string(reenact::kRefinerInputChannels) +
                         " input channels: warped avatar RGB + mouth and eye masks; output the input's size with 3 channels); "
                         "this one takes " + size(m.input) + " and gives " + size(m.output) +
                         ". Packages made before the one-shot redesign (key-plane input) are legacy: retrain with "
                         "scripts/train-refiner.sh");
    return;
  }
  if (!family.synth())
    throw PackageError(dir + ": synthesis runs " + models::synth_family_names() + " packages, not '" + m.family + "'");
  const auto shape = family.synth_shape(*m.architecture, package.path("manifest.json"));
  const auto z = shape.z_dim > 0 ? synth::noise_for_seed(0, shape.z_dim) : torch::Tensor();
  const int64_t fed = synth::backbone_input(family, torch::zeros({1, 1, 1}, torch::kLong), z, shape.num_classes).size(1);
  if (m.input.channels != fed || m.output.channels != 3)
    throw PackageError(dir + ": a " + m.family + " synthesis package takes " + std::to_string(fed) + " input channels (" +
                       std::to_string(shape.num_classes) + " classes" + (shape.z_dim ? " + noise" : "") +
                       ") and gives 3 (RGB); this one says it takes " + size(m.input) + " and gives " + size(m.output));
}

void PackagePipeline::start_engine(Device device, Precision precision, const std::string& database_location, const EngineSharing& sharing) {
  device_ = resolve_device(device);
  auto make = [&] {
    auto engine = std::make_unique<Engine>(models::load_graph(package_), package_.manifest(), package_.guide_database(database_location), device_);
    engine->set_calibrations(package_.calibrations());
    engine->set_precision(precision);
    return engine;
  };
  if (sharing.name.empty()) {
    engine_ = SharedEngine::own(make());
  } else {
    // What the engine is made of: streams naming it must ask for the same.
    const auto canonical = [](const std::string& p) { return fs::weakly_canonical(fs::path(p)).string(); };
    const std::string identity = "package " + canonical(package_.dir()) + " (guide database " +
                                 (database_location.empty() ? std::string("the package's") : canonical(database_location)) + ") on " +
                                 device_.str() + (precision == Precision::Bf16 ? " in bf16" : "");
    engine_ = SharedEngine::join(sharing.name, identity, sharing.window_ms, make);
  }
  for (const auto& [sf, c] : engine_->engine().calibrations()) info_.calibrated_scale_factors.push_back(sf);

  const Manifest& m = package_.manifest();
  info_.num_exits = engine_->engine().num_exits();
  for (const auto& sf : m.scale_factors) info_.scale_factors.push_back(sf.name), info_.route_gflops[sf.name] = sf.route_gflops;
  info_.default_scale_factor = m.default_scale_factor;
  info_.metric_name = m.metric;
  info_.metric_unit = m.metric_unit;
  info_.default_threshold = m.default_threshold;
  info_.device_name = device_.str();
  info_.precision_name = engine_->engine().precision() == Precision::Bf16 ? "bf16" : "fp32";
  info_.backbone_gflops = m.scale_factors[0].route_gflops.back();
}

}  // namespace fiancee
