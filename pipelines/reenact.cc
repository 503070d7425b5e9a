#include "pipelines/reenact.h"

#include <torch/torch.h>

#include "core/device.h"
#include "core/engine.h"
#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "models/registry.h"
#include "pipelines/face_frontend.h"
#include "pipelines/image_io.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee {

namespace {

class ReenactPipeline : public FramePipeline {
 public:
  explicit ReenactPipeline(const ReenactOptions& o) : package_(Package::open(o.model_location)) {
    const auto& m = package_.manifest();
    if (m.pipeline != "reenact")
      throw PackageError(o.model_location + ": is a '" + m.pipeline + "' package; fianceereenact needs a 'reenact' package");
    if (m.input.channels != 3 + reenact::kKeyDim || m.output.channels != 3)
      throw PackageError(o.model_location + ": a reenact package takes " + std::to_string(3 + reenact::kKeyDim) +
                         " input channels (source RGB + the driver's pose/expression key) and makes 3; this one takes " +
                         std::to_string(m.input.channels) + " (built for another key?)");
    device_ = resolve_device(o.device);
    ImageSpec rgb = m.input;
    rgb.channels = 3;
    source_ = read_image(o.source_location, rgb, "source-location").to(device_);
    face::FaceFrontEndOptions fo;
    if (!o.landmark_model.empty()) fo.model_path = o.landmark_model;
    fo.hold_frames = o.face_hold_frames;
    front_end_ = std::make_unique<face::FaceFrontEnd>(fo);
    no_face_ = o.no_face;
    engine_ = std::make_unique<Engine>(models::load_graph(package_), m, package_.guide_database(o.database_location), device_);
  }

  void process(const ImageView& in, const ImageView& out, const RouteSettings& settings, FrameReport& report) override {
    const auto face = front_end_->process(in.data, in.width, in.height, in.stride);
    std::vector<float> key;
    if (face.has_face()) {
      key = face.key();
    } else if (no_face_ == NoFaceAction::Neutral) {
      key = face::make_key(face::HeadAngles{}, face::kExprCentre);
    } else {
      copy_frame(in, out);
      report = FrameReport();
      report.num_exits = engine_->num_exits();
      report.passthrough = true;
      return;
    }
    auto k = torch::tensor(key, torch::kFloat).unsqueeze(0).to(device_);
    auto result = engine_->run(reenact::backbone_input(source_, k), k, settings);
    tensor_to_frame(result.images[0], package_.manifest().output, out, /*keep_aspect=*/true);
    report = std::move(result.reports[0]);
  }

  int num_exits() const override { return engine_->num_exits(); }
  std::vector<std::string> scale_factors() const override {
    std::vector<std::string> out;
    for (const auto& sf : package_.manifest().scale_factors) out.push_back(sf.name);
    return out;
  }
  std::string default_scale_factor() const override { return package_.manifest().default_scale_factor; }
  std::string metric_name() const override { return package_.manifest().metric; }
  std::string metric_unit() const override { return package_.manifest().metric_unit; }
  std::string device_name() const override { return device_.str(); }
  double backbone_gflops() const override { return package_.manifest().scale_factors[0].route_gflops.back(); }

 private:
  Package package_;
  torch::Device device_ = torch::kCPU;
  torch::Tensor source_;
  std::unique_ptr<face::FaceFrontEnd> front_end_;
  NoFaceAction no_face_ = NoFaceAction::Passthrough;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

std::unique_ptr<FramePipeline> make_reenact_pipeline(const ReenactOptions& options) {
  return std::make_unique<ReenactPipeline>(options);
}

}  // namespace fiancee
