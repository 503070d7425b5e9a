#include "pipelines/reenact.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/errors.h"
#include "models/registry.h"
#include "pipelines/face_frontend.h"
#include "pipelines/image_io.h"
#include "pipelines/package_pipeline.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee {

namespace {

class ReenactPipeline : public PackagePipeline {
 public:
  explicit ReenactPipeline(const ReenactOptions& o) : PackagePipeline(Package::open(o.model_location)) {
    const auto& m = package_.manifest();
    if (m.pipeline != "reenact")
      throw PackageError(o.model_location + ": is a '" + m.pipeline + "' package; fianceereenact needs a 'reenact' package");
    if (!models::family(m.family, package_.path("manifest.json")).reenact)
      throw PackageError(o.model_location + ": architecture family '" + m.family + "' renders no reenactment (its input is not an image)");
    if (m.input.channels != 3 + reenact::kKeyDim || m.output.channels != 3)
      throw PackageError(o.model_location + ": a reenact package takes " + std::to_string(3 + reenact::kKeyDim) +
                         " input channels (source RGB + the driver's pose/expression key) and makes 3; this one takes " +
                         std::to_string(m.input.channels) + " (built for another key?)");
    start_engine(o.device, o.database_location);
    ImageSpec rgb = m.input;
    rgb.channels = 3;
    source_ = read_image(o.source_location, rgb, "source-location").to(device_);
    face::FaceFrontEndOptions fo;
    if (!o.landmark_model.empty()) fo.model_path = o.landmark_model;
    fo.hold_frames = o.face_hold_frames;
    fo.redetect_every = o.face_redetect_interval;
    front_end_ = std::make_unique<face::FaceFrontEnd>(fo);
    no_face_ = o.no_face;
    if (o.expression_transfer == ExpressionTransfer::Relative) avatar_typical_ = reenact::avatar_typical_expression(database_.get());
  }

  void process(const ImageView& in, const ImageView& out, const RouteSettings& settings, FrameReport& report) override {
    const auto face = front_end_->process(in.data, in.width, in.height, in.stride);
    std::vector<float> key;
    if (face.has_face()) {
      key = avatar_typical_.empty() ? face.key() : face.relative_key(avatar_typical_);
    } else if (no_face_ == NoFaceAction::Neutral) {
      key = face::make_key(face::HeadAngles{}, face::kExprCentre);
      std::copy(avatar_typical_.begin(), avatar_typical_.end(), key.begin() + 3);
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

 private:
  torch::Tensor source_;
  std::unique_ptr<face::FaceFrontEnd> front_end_;
  NoFaceAction no_face_ = NoFaceAction::Passthrough;
  std::vector<float> avatar_typical_;  // empty: absolute expression transfer
};

}  // namespace

std::unique_ptr<FramePipeline> make_reenact_pipeline(const ReenactOptions& options) {
  return std::make_unique<ReenactPipeline>(options);
}

}  // namespace fiancee
