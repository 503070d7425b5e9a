#include "pipelines/synth.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "core/errors.h"
#include "models/registry.h"
#include "pipelines/image_io.h"
#include "pipelines/package_pipeline.h"
#include "pipelines/synth_inputs.h"

namespace fiancee {

namespace fs = std::filesystem;

std::string resolve_synth_package(const std::string& location, const std::string& backbone) {
  if (fs::exists(fs::path(location) / "manifest.json")) {
    if (!backbone.empty() && fs::path(location).filename() != backbone) {
      // A single package: accept its own family name too.
      const auto family = Package::open(location).manifest().family;
      if (family != backbone)
        throw InputError("backbone '" + backbone + "' requested, but " + location + " is a single '" + family + "' package");
    }
    return location;
  }
  std::vector<std::string> names;
  if (fs::is_directory(location))
    for (const auto& e : fs::directory_iterator(location))
      if (e.is_directory() && fs::exists(e.path() / "manifest.json")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  if (names.empty()) throw PackageError(location + ": neither a model package (no manifest.json) nor a directory of packages");
  if (backbone.empty()) return (fs::path(location) / names.front()).string();
  if (std::find(names.begin(), names.end(), backbone) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw InputError("backbone '" + backbone + "' is not in " + location + " (it holds: " + list + ")");
  }
  return (fs::path(location) / backbone).string();
}

namespace {

class SynthPipeline : public PackagePipeline {
 public:
  explicit SynthPipeline(const SynthOptions& o) : PackagePipeline(Package::open(resolve_synth_package(o.model_location, o.backbone))) {
    const auto& m = package_.manifest();
    if (m.pipeline != "synth")
      throw PackageError(package_.dir() + ": is a '" + m.pipeline + "' package; fianceesynth needs a 'synth' package");
    check_pipeline_package(package_);
    const auto origin = package_.path("manifest.json");
    family_ = &models::family(m.family, origin);
    const auto shape = family_->synth_shape(*m.architecture, origin);
    num_classes_ = shape.num_classes;
    z_dim_ = shape.z_dim;
    seed_ = o.seed;
    noise_ = o.noise;
    start_engine(o.device, o.precision, o.database_location, o.sharing);
  }

  void process(const ImageView& in, const ImageView& out, const RouteSettings& settings, FrameReport& report) override {
    if (in.channels != 1) throw InputError("label maps must be single-channel (GRAY8) class ids");
    const auto& m = package_.manifest();
    // Class ids are categories: nearest-neighbour resizing only, never averaged.
    auto labels = torch::from_blob(in.data, {in.height, in.width}, {in.stride, 1}, torch::kUInt8).to(torch::kLong);
    // On the frame as given: a downscale could drop the offending pixels.
    synth::check_class_ids(labels, num_classes_);
    if (in.height != m.input.height || in.width != m.input.width)
      labels = torch::nn::functional::interpolate(labels.view({1, 1, in.height, in.width}).to(torch::kFloat),
                                                  torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{m.input.height, m.input.width})
                                                      .mode(torch::kNearest))
                   .to(torch::kLong)
                   .view({m.input.height, m.input.width});
    const uint64_t seed = noise_ == NoiseMode::Fixed ? seed_ : seed_ + frame_++;
    const auto z = z_dim_ > 0 ? synth::noise_for_seed(seed, z_dim_) : torch::Tensor();
    auto result = engine_->run(synth::backbone_input(*family_, labels.unsqueeze(0), z, num_classes_), {}, settings);
    tensor_to_frame(result.images[0], m.output, out);
    report = std::move(result.reports[0]);
  }

 private:
  const models::Family* family_ = nullptr;
  int num_classes_ = 0, z_dim_ = 0;
  uint64_t seed_ = 0, frame_ = 0;
  NoiseMode noise_ = NoiseMode::Fixed;
};

}  // namespace

std::unique_ptr<FramePipeline> make_synth_pipeline(const SynthOptions& options) {
  return std::make_unique<SynthPipeline>(options);
}

}  // namespace fiancee
