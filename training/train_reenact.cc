// The reenactment pipeline's training task: self-reenactment (source and
// driver of one identity, target = driver), guide = the identity's frame
// nearest to the driver's key; on procedural heads or on a VoxCeleb-style
// folder of real videos (--data DIR).
#include <torch/torch.h>

#include <filesystem>

#include "core/errors.h"
#include "models/g2d.h"
#include "datasets/face_videos.h"
#include "datasets/reenact_data.h"
#include "pipelines/reenact_inputs.h"
#include "training/reenact_package.h"
#include "training/train_task.h"

namespace fiancee::training {

namespace {

// --avatar-only: the package's avatar (identity 0) alone, to specialise the
// predictor to the source it will serve, as the database is.
std::unique_ptr<reenact::ReenactSource> reenact_source(const Work& w, bool avatar_only) {
  const int resolution = w.meta.at("resolution").get<int>();
  const std::string data = w.meta.value("data", "procedural");
  if (data == "procedural")
    return std::make_unique<reenact::ProceduralHeads>(resolution, avatar_only ? 1 : w.meta.at("identities").get<int>(), 16, w.seed());
  reenact::VideoFacesOptions o;
  o.resolution = resolution;
  o.frames_per_video = w.meta.value("frames_per_video", 48);
  o.max_identities = avatar_only ? 1 : 0;
  o.seed = w.seed();
  return std::make_unique<reenact::VideoFaces>(data, o);
}

class ReenactTask : public TrainTask {
 public:
  ReenactTask(const Work& w, const Options& args)
      : work_(w),
        graph_(models::G2DConfig::from_json(w.meta.at("architecture"), w.path("architecture.json"))),
        data_(reenact_source(w, args.has("--avatar-only"))) {}

  models::BranchedGraph& graph() override { return graph_; }
  int condition_channels() const override { return 3; }  // the source image

  TrainBatch sample(int batch, uint64_t index, Stream stream) override {
    auto b = data_->sample(batch, index + static_cast<uint64_t>(stream));
    return {reenact::backbone_input(b.source, b.key), b.driver, b.source, b.key, b.guide};
  }

  void write_package(const std::string& out, const Options& args) override {
    // The avatar: identity 0 of the training data, its guide database of its frames in other poses.
    const auto frames = data_->avatar_frames(args.integer("--database-size", 48));
    const int resolution = work_.meta.at("resolution").get<int>();
    const std::string data = work_.meta.value("data", "procedural");
    const std::string what = data == "procedural" ? "procedural heads (" + std::to_string(work_.meta.at("identities").get<int>()) + " identities)"
                                                  : "the videos of " + data;
    ReenactPackageInfo info{args.get("--name", "avatar-demo"),
                            "Reenactment G2D trained by `fiancee train-*` on " + what + ", " + std::to_string(resolution) + "x" +
                                std::to_string(resolution) + "; avatar = identity 0. See docs/training.md.",
                            false, resolution, args.has("--default-threshold") ? std::stod(args.get("--default-threshold", "")) : defaults::kQualityThreshold};
    write_reenact_package(out, graph_, info, &frames, data_->source(0), args.has("--overwrite"));
  }

 private:
  Work work_;
  models::G2DGraph graph_;
  std::unique_ptr<reenact::ReenactSource> data_;
};

}  // namespace

Work create_reenact_work(const Options& args) {
  std::string data = args.get("--data", "procedural");
  if (data != "procedural") {
    if (!std::filesystem::is_directory(data))
      throw InputError("--data " + data + ": not a folder (expected DIR/<identity>/<videos or frame folders>, or 'procedural')");
    data = std::filesystem::absolute(data).lexically_normal().string();
  }
  Work w;
  w.meta = {{"pipeline", "reenact"},
            {"resolution", args.integer("--resolution", 128)},
            {"identities", args.integer("--identities", 64)},
            {"seed", args.integer("--seed", 1)},
            {"architecture", reenact_config(args.integer("--channels", 32), true, args.list("--scale-factors", "1/2,1/4")).to_json()}};
  if (data != "procedural") {  // absent from procedural runs: their work directories stay as they were
    w.meta["data"] = data;
    w.meta["frames_per_video"] = args.integer("--frames-per-video", 48);
  }
  return w;
}

std::unique_ptr<TrainTask> make_reenact_task(const Work& work, const Options& args) { return std::make_unique<ReenactTask>(work, args); }

}  // namespace fiancee::training
