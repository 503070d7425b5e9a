// The reenactment pipeline's training task: self-reenactment on procedural
// heads (source and driver of one identity, target = driver), guide = the
// identity's frame nearest to the driver's key.
#include <torch/torch.h>

#include "core/errors.h"
#include "models/g2d.h"
#include "pipelines/reenact_data.h"
#include "pipelines/reenact_inputs.h"
#include "pipelines/reenact_package.h"
#include "tools/train_task.h"

namespace fiancee::tools {

namespace {

class ReenactTask : public TrainTask {
 public:
  ReenactTask(const Work& w, const Args& args)
      : work_(w),
        resolution_(w.meta.at("resolution").get<int>()),
        identities_(w.meta.at("identities").get<int>()),
        graph_(models::G2DConfig::from_json(w.meta.at("architecture"), w.path("architecture.json"))),
        // --avatar-only: the package's avatar (identity 0) alone, to specialise
        // the predictor to the source it will serve, as the database is.
        heads_(resolution_, args.has("--avatar-only") ? 1 : identities_, 16, w.seed()) {}

  models::BranchedGraph& graph() override { return graph_; }
  int condition_channels() const override { return 3; }  // the source image

  TrainBatch sample(int batch, uint64_t index, Stream stream) override {
    auto b = heads_.sample(batch, index + static_cast<uint64_t>(stream));
    return {reenact::backbone_input(b.source, b.key), b.driver, b.source, b.key, b.guide};
  }

  void write_package(const std::string& out, const Args& args) override {
    // The avatar: identity 0 of the training set, its guide database of renders in other poses.
    reenact::ProceduralHeads heads(resolution_, identities_, 16, work_.seed());
    const auto frames = heads.frames(0, args.integer("--database-size", 48), 7);
    ReenactPackageInfo info{args.get("--name", "avatar-demo"),
                            "Reenactment G2D trained by `fiancee train-*` on procedural heads (" + std::to_string(identities_) +
                                " identities), " + std::to_string(resolution_) + "x" + std::to_string(resolution_) +
                                "; avatar = procedural identity 0. See docs/training.md.",
                            false, resolution_};
    write_reenact_package(out, graph_, info, &frames, heads.source(0), args.has("--overwrite"));
  }

 private:
  Work work_;
  int resolution_, identities_;
  models::G2DGraph graph_;
  reenact::ProceduralHeads heads_;
};

}  // namespace

Work create_reenact_work(const Args& args) {
  Work w;
  w.meta = {{"pipeline", "reenact"},
            {"resolution", args.integer("--resolution", 128)},
            {"identities", args.integer("--identities", 64)},
            {"seed", args.integer("--seed", 1)},
            {"architecture", reenact_config(args.integer("--channels", 32), true, args.list("--scale-factors", "1/2,1/4")).to_json()}};
  return w;
}

std::unique_ptr<TrainTask> make_reenact_task(const Work& work, const Args& args) { return std::make_unique<ReenactTask>(work, args); }

}  // namespace fiancee::tools
