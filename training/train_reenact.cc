// The reenactment refiner's training task: self-reenactment (source and
// driver of one identity, target = driver), input = the source warped to the
// driver's landmarks + part masks, exactly as at run time; on procedural heads
// or on a VoxCeleb-style folder of real videos (--data DIR).
#include <torch/torch.h>

#include <cmath>
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

std::unique_ptr<reenact::ReenactSource> reenact_source(const Work& w) {
  const int resolution = w.meta.at("resolution").get<int>();
  const std::string data = w.meta.value("data", "procedural");
  if (data == "procedural") return std::make_unique<reenact::ProceduralHeads>(resolution, w.meta.at("identities").get<int>(), w.seed());
  reenact::VideoFacesOptions o;
  o.resolution = resolution;
  o.frames_per_video = w.meta.value("frames_per_video", 48);
  o.seed = w.seed();
  return std::make_unique<reenact::VideoFaces>(data, o);
}

class ReenactTask : public TrainTask {
 public:
  explicit ReenactTask(const Work& w)
      : work_(w),
        graph_(models::G2DConfig::from_json(w.meta.at("architecture"), w.path("architecture.json"))),
        data_(reenact_source(w)),
        part_weight_(w.meta.value("part_loss_weight", 0.0)) {}

  models::BranchedGraph& graph() override { return graph_; }
  int condition_channels() const override { return 3; }  // the warp the refiner starts from

  TrainBatch sample(int batch, uint64_t index, Stream stream) override {
    auto b = data_->sample(batch, index + static_cast<uint64_t>(stream));
    // --part-loss-weight W: the mouth and eye boxes weigh 1 + W in the L1 loss.
    const auto weight = part_weight_ > 0 ? 1.0 + part_weight_ * b.parts : torch::Tensor();
    return {b.input, b.driver, b.warped, b.key, torch::Tensor(), weight};
  }

  void write_package(const std::string& out, const Options& args) override {
    const int resolution = work_.meta.at("resolution").get<int>();
    const std::string data = work_.meta.value("data", "procedural");
    const std::string what = data == "procedural" ? "procedural heads (" + std::to_string(work_.meta.at("identities").get<int>()) + " identities)"
                                                  : "the videos of " + data;
    ReenactPackageInfo info{args.get("--name", "refiner"),
                            "One-shot reenactment refiner (warp + G2D with exits) trained by `fiancee train-*` on " + what + ", " +
                                std::to_string(resolution) + "x" + std::to_string(resolution) + "; animates any photo. See docs/reenactment.md.",
                            false, resolution, args.has("--default-threshold") ? std::stod(args.get("--default-threshold", "")) : defaults::kQualityThreshold};
    write_reenact_package(out, graph_, info, nullptr, data_->sample_avatar(), args.has("--overwrite"));
  }

 private:
  Work work_;
  models::G2DGraph graph_;
  std::unique_ptr<reenact::ReenactSource> data_;
  double part_weight_;
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
            {"architecture", reenact_config(args.integer("--channels", 32), false, args.list("--scale-factors", "1/2,1/4"),
                                            std::stod(args.get("--residual-scale", "1"))).to_json()}};
  // Absent unless asked for: earlier work directories stay as they were.
  const double part_weight = std::stod(args.get("--part-loss-weight", "0"));
  if (part_weight < 0 || !std::isfinite(part_weight)) throw InputError("--part-loss-weight must be >= 0");
  if (part_weight > 0) w.meta["part_loss_weight"] = part_weight;
  if (data != "procedural") {  // absent from procedural runs: their work directories stay as they were
    w.meta["data"] = data;
    w.meta["frames_per_video"] = args.integer("--frames-per-video", 48);
  }
  return w;
}

std::unique_ptr<TrainTask> make_reenact_task(const Work& work, const Options& args) {
  (void)args;
  return std::make_unique<ReenactTask>(work);
}

}  // namespace fiancee::training
