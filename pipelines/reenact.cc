#include "pipelines/reenact.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "models/registry.h"
#include "pipelines/avatar.h"
#include "pipelines/image_io.h"
#include "pipelines/motion.h"
#include "pipelines/package_pipeline.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee {

namespace {

class Reenactor : public ReenactPipeline {
 public:
  explicit Reenactor(const ReenactOptions& o) : package_(o) {
    const auto& m = package_.package().manifest();
    front_end_ = std::make_unique<face::FaceFrontEnd>(front_end_options(o));
    avatar_ = std::make_unique<Avatar>(o.source_location, m.input.width, o.landmark_model);
    relative_ = o.expression_transfer == ExpressionTransfer::Relative;
    no_face_ = o.no_face;
    refine_ = o.refine;
  }

  const PipelineInfo& info() const override { return package_.info(); }
  const Trace& trace() const override { return trace_; }
  const cv::Mat& avatar_crop() const override { return avatar_->crop(); }

  void process(const ImageView& in, const ImageView& out, const RouteSettings& settings, FrameReport& report) override {
    const auto face = front_end_->process(in.data, in.width, in.height, in.stride);
    trace_.face = face.has_face();
    if (face.has_face()) {
      trace_.target = relative_ ? motion_.target(face, avatar_->landmarks()) : absolute_target(face);
    } else if (no_face_ == NoFaceAction::Neutral) {
      trace_.target = avatar_->landmarks();
    } else {
      copy_frame(in, out);
      report = FrameReport();
      report.num_exits = info().num_exits;
      report.passthrough = true;
      return;
    }
    const int size = avatar_->crop_size();
    auto warped = reenact::warp_avatar(avatar_->crop(), avatar_->mesh(), trace_.target);
    trace_.warped = warped.image;
    if (refine_ && !settings.no_network) {
      auto& engine = package_.engine();
      const auto key = reenact::key_from_landmarks(trace_.target, size, size).unsqueeze(0);
      auto result = engine.run(reenact::refiner_input(warped), key, settings);
      trace_.rendered = reenact::tensor_to_rgb8(result.images[0]);
      report = std::move(result.reports[0]);
    } else {
      trace_.rendered = warped.image;
      report = FrameReport();
      report.num_exits = info().num_exits;  // exit -1: no network ran
    }
    avatar_->compose(trace_.rendered, out);
    const cv::Size out_size(out.width, out.height);
    for (int i = 0; i < face::kNumLandmarks; ++i) trace_.target_out[i] = avatar_->to_output(trace_.target[i], out_size);
  }

 private:
  // The package and its engine, checked to be a warp refiner.
  class RefinerPackage : public PackagePipeline {
   public:
    explicit RefinerPackage(const ReenactOptions& o) : PackagePipeline(Package::open(o.model_location)) {
      const auto& m = package_.manifest();
      if (m.pipeline != "reenact")
        throw PackageError(o.model_location + ": is a '" + m.pipeline + "' package; fianceereenact needs a 'reenact' package");
      check_pipeline_package(package_);
      start_engine(o.device, o.precision, o.database_location, o.sharing);
      mutable_info().renders_without_network = true;  // the warp alone is a frame
    }
    void process(const ImageView&, const ImageView&, const RouteSettings&, FrameReport&) override {}
    const Package& package() const { return package_; }
    SharedEngine::Stream& engine() { return *engine_; }
  };

  static face::FaceFrontEndOptions front_end_options(const ReenactOptions& o) {
    face::FaceFrontEndOptions fo;
    if (!o.landmark_model.empty()) fo.model_path = o.landmark_model;
    fo.hold_frames = o.face_hold_frames;
    fo.redetect_every = o.face_redetect_interval;
    return fo;
  }

  // The driver's landmarks carried onto the avatar by the similarity of their rigid points.
  face::Landmarks absolute_target(const face::FaceResult& face) const {
    const auto& a = avatar_->landmarks();
    std::vector<cv::Point2d> from, to;
    for (int i : warp::kRigid) from.emplace_back(face.landmarks[i]), to.emplace_back(a[i]);
    const cv::Matx23f s = face::fit_similarity(from, to);
    face::Landmarks out;
    for (int i = 0; i < face::kNumLandmarks; ++i) out[i] = face::transform(s, face.landmarks[i]);
    return out;
  }

  RefinerPackage package_;
  std::unique_ptr<face::FaceFrontEnd> front_end_;
  std::unique_ptr<Avatar> avatar_;
  motion::RelativeMotion motion_;
  bool relative_ = true;
  bool refine_ = true;
  NoFaceAction no_face_ = NoFaceAction::Passthrough;
  Trace trace_;
};

}  // namespace

std::unique_ptr<ReenactPipeline> make_reenact_pipeline(const ReenactOptions& options) {
  return std::make_unique<Reenactor>(options);
}

}  // namespace fiancee
